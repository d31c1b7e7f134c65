using Prometheus;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The host's one metrics registry, always registered: every feature creates its families from <see cref="Families"/>
/// when <see cref="Enabled"/>, instead of resolving the metrics feature. One registry per host, so two apps in one
/// process, or two tests, never share counts; the app's own prometheus-net metrics stay in the default registry.
/// </summary>
internal sealed class MetricsRegistry
{
    public MetricsRegistry(bool enabled, string? prefix)
    {
        Enabled = enabled;
        Prefix = NormalizePrefix(prefix);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Families = new MetricFamilyFactory(Registry, Prefix);
        if (enabled)
        {
            // prometheus-net's default collectors in its default registry (served beside ours for the app's own metrics)
            // produce names promtool rejects and export Counter<T> as gauges; the library exports its own runtime
            // metrics and bridges meters itself. Effective because it runs before the default registry is first collected.
            Prometheus.Metrics.SuppressDefaultMetrics();
        }
    }

    /// <summary><c>Observability:Metrics:Enabled</c>: when false nothing is served, and features create no metrics.</summary>
    public bool Enabled { get; }

    /// <summary>The metric-name prefix, empty or ending in <c>_</c>.</summary>
    public string Prefix { get; }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates the library's families in <see cref="Registry"/> with <see cref="Prefix"/>; every feature's families go through it.</summary>
    public MetricFamilyFactory Families { get; }

    internal static string NormalizePrefix(string? prefix) =>
        string.IsNullOrEmpty(prefix) ? string.Empty : prefix.EndsWith('_') ? prefix : prefix + "_";
}
