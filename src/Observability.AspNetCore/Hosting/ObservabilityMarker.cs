namespace Observability.AspNetCore.Hosting;

/// <summary>Registered by <c>AddObservability()</c>, so <c>UseObservability()</c> can say what is missing.</summary>
internal sealed class ObservabilityMarker;
