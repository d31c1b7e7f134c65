using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class PrometheusServerTests
{
    [Fact]
    public async Task Prometheus_server_scrapes_itself_evaluates_rule_files_and_fires_alerts()
    {
        const string config = $$"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - rules/smoke.yml
            scrape_configs:
              - job_name: prometheus
                static_configs:
                  - targets: ['127.0.0.1:{{PrometheusServer.PortPlaceholder}}']
            """;
        var rules = new Dictionary<string, string>
        {
            ["rules/smoke.yml"] = """
                groups:
                  - name: smoke
                    rules:
                      - record: smoke:up:sum
                        expr: sum(up{job="prometheus"})
                      - alert: SmokeAlwaysFiring
                        expr: vector(1) > 0
                """,
        };

        await using var prometheus = await PrometheusServer.StartAsync(config, rules);
        Assert.Equal($"http://127.0.0.1:{prometheus.Port}/", prometheus.BaseAddress.ToString());

        var up = await prometheus.WaitForQueryResultAsync("up", TimeSpan.FromSeconds(20));
        var sample = Assert.Single(up.EnumerateArray());
        Assert.Equal($"127.0.0.1:{prometheus.Port}", sample.GetProperty("metric").GetProperty("instance").GetString());
        Assert.Equal("1", sample.GetProperty("value")[1].GetString());

        var recorded = await prometheus.WaitForQueryResultAsync("smoke:up:sum", TimeSpan.FromSeconds(20));
        Assert.Equal("1", recorded[0].GetProperty("value")[1].GetString());

        var alertFired = false;
        for (var attempt = 0; attempt < 40 && !alertFired; attempt++)
        {
            using var alerts = await prometheus.GetAsync("/api/v1/alerts");
            alertFired = alerts.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray().Any(alert =>
                alert.GetProperty("labels").GetProperty("alertname").GetString() == "SmokeAlwaysFiring"
                && alert.GetProperty("state").GetString() == "firing");
            if (!alertFired)
            {
                await Task.Delay(500);
            }
        }

        Assert.True(alertFired, $"SmokeAlwaysFiring never fired.\n{prometheus.LogTail}");

        // A bad query comes back as a JSON error body rather than an exception.
        using var error = await prometheus.QueryAsync("sum(");
        Assert.Equal("error", error.RootElement.GetProperty("status").GetString());
    }
}
