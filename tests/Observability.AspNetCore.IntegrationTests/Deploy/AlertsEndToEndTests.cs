using System.Globalization;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The shipped alert expressions end to end: the sample API misbehaves, a real Prometheus scrapes it every second with
/// the shipped prometheus.yml and a copy of alerts.yml whose <c>for:</c> durations are 1 s (the expressions are the
/// shipped ones, checked line by line), and the alerts reach <c>firing</c> in <c>/api/v1/alerts</c>.
/// </summary>
public sealed class AlertsEndToEndTests
{
    private static readonly TimeSpan FiringTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Error_ratio_slow_request_and_dependency_alerts_fire_and_the_others_stay_silent()
    {
        // A Redis health check against a listener that accepts connections and never answers: the dependency hangs.
        using var hungRedis = new SilentListener();
        var deadRedis = $"127.0.0.1:{hungRedis.Port.ToString(CultureInfo.InvariantCulture)},abortConnect=false,connectTimeout=500";
        await using var stack = await DeployStack.StartAsync(
            new Dictionary<string, string?>
            {
                ["Observability__Health__Redis__ConnectionString"] = deadRedis,
                ["Observability__Health__TimeoutMs"] = "1000",
            },
            DeployFiles.AlertRulesWithFor("1s"));

        // Wave 1 creates the labelled series; once Prometheus holds them, wave 2 makes the rates: 60 failures on /api/boom
        // (a rate of about 0.2/s over the 5m window, over the rule's 0.1/s guard) and 60 requests over the 100 ms threshold.
        Assert.Equal([500, 200], await stack.DriveAsync(1, "/api/boom", "/api/slow?ms=150"));
        await stack.WaitForSeriesAsync("http_requests_total{endpoint=\"/api/boom\"}", "http_slow_requests_total{endpoint=\"/api/slow\"}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var statuses = await stack.DriveAsync(60, "/api/boom", "/api/slow?ms=150");
        Assert.Equal(60, statuses.Count(s => s == 500));
        Assert.Equal(60, statuses.Count(s => s == 200));

        var alerts = await stack.WaitForAlertsAsync(
            a => IsFiring(a, "HighErrorRatio", "endpoint", "/api/boom")
                 && IsFiring(a, "SlowRequestRate", "endpoint", "/api/slow")
                 && IsFiring(a, "DependencyUnhealthy", "check", "redis"),
            FiringTimeout,
            "HighErrorRatio, SlowRequestRate and DependencyUnhealthy firing");

        var job = DeployStack.Job;
        var errors = alerts.Single(a => a.Name == "HighErrorRatio");
        Assert.Equal("critical", errors.Label("severity"));
        Assert.Equal(job, errors.Label("job"));
        Assert.StartsWith($"{job}: 100% of /api/boom requests fail with 5xx", errors.Annotations["summary"], StringComparison.Ordinal);

        var slow = alerts.Single(a => a.Name == "SlowRequestRate");
        Assert.Equal("warning", slow.Label("severity"));
        Assert.Matches($@"^{job}: 0\.[1-9]\d slow requests per second on /api/slow$", slow.Annotations["summary"]);
        Assert.Contains($"Service {job}: more than 0.1 requests per second to /api/slow", slow.Annotations["description"], StringComparison.Ordinal);

        var dependency = alerts.Single(a => a.Name == "DependencyUnhealthy");
        Assert.Equal("critical", dependency.Label("severity"));
        Assert.Equal(stack.Target, dependency.Label("instance"));
        Assert.Equal($"{job}: dependency check redis is failing", dependency.Annotations["summary"]);
        Assert.Contains("reported Unhealthy", dependency.Annotations["description"], StringComparison.Ordinal);
        Assert.True(hungRedis.AcceptedConnections > 0, "the Redis check never connected");

        // Silent: alerts this traffic cannot justify. (Latency, memory and thread-pool alerts depend on how loaded the test
        // machine is, with for: 1s; their silent cases are proven by the promtool unit tests in alerts.test.yml.)
        Assert.DoesNotContain(alerts, a => a.Name is "TargetDown" or "SlowQueryRate");
        Assert.DoesNotContain(alerts, a => a.Name == "DependencyUnhealthy" && a.Label("check") != "redis");
        Assert.DoesNotContain(alerts, a => a.Name == "SlowRequestRate" && a.Label("endpoint") != "/api/slow");
        Assert.DoesNotContain(alerts, a => a.Name == "HighErrorRatio" && a.Label("endpoint") != "/api/boom");
    }

    [Fact]
    public async Task Target_down_fires_once_the_sample_stops_answering_scrapes()
    {
        await using var stack = await DeployStack.StartAsync(new Dictionary<string, string?>(), DeployFiles.AlertRulesWithFor("1s"));
        var target = stack.Target;
        await stack.Prometheus.WaitForQueryResultAsync($"up{{instance=\"{target}\"}} == 1", TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.DoesNotContain(await stack.AlertsAsync(), a => a.Name == "TargetDown");

        await stack.App.DisposeAsync();

        var alerts = await stack.WaitForAlertsAsync(a => IsFiring(a, "TargetDown", "instance", target), FiringTimeout, "TargetDown firing");
        var down = alerts.Single(a => a.Name == "TargetDown");
        Assert.Equal("critical", down.Label("severity"));
        Assert.Equal(DeployStack.Job, down.Label("job"));
        Assert.Equal($"{DeployStack.Job}: {target} cannot be scraped", down.Annotations["summary"]);
    }

    private static bool IsFiring(IReadOnlyList<ActiveAlert> alerts, string name, string label, string value) =>
        alerts.Any(a => a.Name == name && a.State == "firing" && a.Label(label) == value);
}
