using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Observability.AspNetCore.Health;

/// <summary>
/// One check's result as the endpoints show it: already redacted, with no exception object (so no stack trace can
/// reach a response by accident).
/// </summary>
internal sealed record HealthCheckSnapshot(
    string Name,
    HealthStatus Status,
    string? Description,
    double DurationMs,
    string? Error,
    IEnumerable<string> Tags)
{
    /// <summary>The error text of a run that did not finish within its timeout.</summary>
    public const string TimedOut = "timed out";

    /// <summary>The worst status of <paramref name="checks"/>; Healthy when there are none.</summary>
    public static HealthStatus Worst(IReadOnlyList<HealthCheckSnapshot> checks)
    {
        var worst = HealthStatus.Healthy;
        foreach (var check in checks)
        {
            if (check.Status < worst)
            {
                worst = check.Status;
            }
        }

        return worst;
    }
}
