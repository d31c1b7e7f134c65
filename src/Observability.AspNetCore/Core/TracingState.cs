namespace Observability.AspNetCore.Core;

/// <summary>
/// Whether <c>AddObservability()</c> wired OTLP tracing (an endpoint was configured). Tracing decides it at registration;
/// Metrics reads it once to attach trace exemplars, so the fact lives here.
/// </summary>
internal sealed class TracingState(bool enabled)
{
    public bool Enabled { get; } = enabled;
}
