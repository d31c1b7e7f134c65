using Observability.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Per-endpoint slow-request thresholds for minimal APIs and route groups.</summary>
public static class SlowRequestEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Sets the slow-request threshold of the endpoint or of every endpoint in the group;
    /// <see cref="TimeSpan.Zero"/> disables slow and hung detection for them.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint or route-group builder.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="threshold">The threshold, from 0 to <see cref="int.MaxValue"/> milliseconds.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is negative or too large, thrown here rather than on the first request.</exception>
    public static TBuilder WithSlowRequestThreshold<TBuilder>(this TBuilder builder, TimeSpan threshold)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold.TotalMilliseconds, int.MaxValue, nameof(threshold));
        var metadata = new SlowRequestThresholdAttribute(checked((int)Math.Ceiling(threshold.TotalMilliseconds)));
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
