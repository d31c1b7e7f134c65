using System.Diagnostics.Metrics;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Metrics.Bridge;

namespace Observability.AspNetCore.Metrics;

/// <summary>The host's one <see cref="MeterBridge"/>, configured from <c>Observability:Metrics</c>.</summary>
internal static class HostMeterBridge
{
    /// <summary>
    /// One bridge per registry (two would count every measurement twice), scoped to this host's meter factory so two
    /// hosts in one process never export each other's instruments. The user's exclusions add to the built-in ones.
    /// </summary>
    public static MeterBridge Create(MetricsOptions options, MetricsRegistry registry, IMeterFactory meterFactory) =>
        new(
            registry.Registry,
            options.Meters is null ? null : [.. options.Meters],
            options.ExcludeMeters is null ? [] : [.. options.ExcludeMeters],
            meterScope: meterFactory,
            prefix: registry.Prefix,
            builtInExclude: MetricsOptions.BuiltInExcludeMeters);
}
