using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Core;
using Prometheus;

namespace Observability.AspNetCore.Health;

/// <summary>
/// <c>health_check_status{check}</c> (1 Healthy, 0.5 Degraded, 0 Unhealthy) and <c>health_check_duration_seconds{check}</c>
/// in the host's registry, set from every fresh result, whoever asked for it (a probe or the background publisher).
/// </summary>
internal sealed class HealthCheckMetrics
{
    private readonly Gauge _status;
    private readonly Gauge _duration;

    public HealthCheckMetrics(MetricFamilyFactory families)
    {
        _status = families.CreateGauge(
            MetricFamilies.HealthCheckStatus,
            "Latest result of each health check: 1 Healthy, 0.5 Degraded, 0 Unhealthy.",
            "check");
        _duration = families.CreateGauge(
            MetricFamilies.HealthCheckDuration,
            "Duration of the latest run of each health check, in seconds.",
            "check");
    }

    public void Record(HealthCheckSnapshot result)
    {
        _status.WithLabels(result.Name).Set(ToValue(result.Status));
        _duration.WithLabels(result.Name).Set(Math.Round(result.DurationMs / 1000d, 6));
    }

    internal static double ToValue(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => 1,
        HealthStatus.Degraded => 0.5,
        _ => 0,
    };
}
