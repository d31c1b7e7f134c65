using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class PromToolsTests
{
    [Fact]
    public async Task Promtool_accepts_a_valid_exposition()
    {
        const string exposition = """
            # HELP http_server_requests_total Handled HTTP requests.
            # TYPE http_server_requests_total counter
            http_server_requests_total{method="GET",status="200"} 12
            # HELP process_up Whether the process is up.
            # TYPE process_up gauge
            process_up 1

            """;

        var result = await PromTools.CheckMetricsAsync(exposition);

        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Promtool_flags_a_counter_without_the_total_suffix()
    {
        const string exposition = """
            # HELP http_server_requests Handled HTTP requests.
            # TYPE http_server_requests counter
            http_server_requests 12

            """;

        var result = await PromTools.CheckMetricsAsync(exposition);

        // promtool 2.x: exit code 3 for lint problems, reported on stderr.
        Assert.False(result.Succeeded, result.ToString());
        Assert.Contains("_total", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_rejects_an_exposition_that_does_not_parse()
    {
        var result = await PromTools.CheckMetricsAsync("this is {{ not a metric\n");

        Assert.False(result.Succeeded, result.ToString());
        Assert.Contains("parsing error", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_and_amtool_check_config_files()
    {
        using var directory = TempDirectory.Create("obs-promtool");
        await File.WriteAllTextAsync(directory.Combine("rules.yml"), """
            groups:
              - name: smoke
                rules:
                  - alert: AlwaysFiring
                    expr: vector(1) > 0
                    labels:
                      severity: info
                    annotations:
                      summary: Smoke test alert.
            """);
        await File.WriteAllTextAsync(directory.Combine("prometheus.yml"), """
            global:
              scrape_interval: 15s
            rule_files:
              - rules.yml
            scrape_configs:
              - job_name: app
                static_configs:
                  - targets: ['127.0.0.1:9']
            """);
        await File.WriteAllTextAsync(directory.Combine("alertmanager.yml"), """
            route:
              receiver: default
            receivers:
              - name: default
            """);
        await File.WriteAllTextAsync(directory.Combine("broken-rules.yml"), """
            groups:
              - name: broken
                rules:
                  - alert: Broken
                    expr: sum(
            """);

        var config = await PromTools.RunAsync("promtool", "check", "config", directory.Combine("prometheus.yml"));
        var rules = await PromTools.RunAsync("promtool", "check", "rules", directory.Combine("rules.yml"));
        var brokenRules = await PromTools.RunAsync("promtool", "check", "rules", directory.Combine("broken-rules.yml"));
        var alertmanager = await PromTools.RunAsync("amtool", "check-config", directory.Combine("alertmanager.yml"));

        Assert.True(config.Succeeded, config.ToString());
        Assert.True(rules.Succeeded, rules.ToString());
        Assert.False(brokenRules.Succeeded, brokenRules.ToString());
        Assert.True(alertmanager.Succeeded, alertmanager.ToString());
    }
}
