namespace Observability.AspNetCore;

/// <summary>
/// Overrides the slow-request threshold (<c>Observability:SlowRequests:ThresholdMs</c>) of a controller, an action or a
/// minimal-API handler. 0 disables slow and hung detection for it (long polling, streaming, file downloads).
/// Minimal APIs and route groups can use <c>.WithSlowRequestThreshold(TimeSpan)</c> instead.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class SlowRequestThresholdAttribute : Attribute
{
    /// <summary>Creates the override.</summary>
    /// <param name="milliseconds">The threshold in milliseconds; 0 disables the check; negative throws.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="milliseconds"/> is negative.</exception>
    public SlowRequestThresholdAttribute(int milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds);
        Milliseconds = milliseconds;
    }

    /// <summary>The threshold in milliseconds; 0 means the endpoint is never reported as slow or hung.</summary>
    public int Milliseconds { get; }
}
