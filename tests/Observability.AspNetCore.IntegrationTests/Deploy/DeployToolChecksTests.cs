using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The Prometheus project's own validators on the shipped files: <c>promtool check config</c>, <c>check rules</c>,
/// <c>test rules</c>, <c>amtool check-config</c> and <c>amtool config routes test</c>, plus the checks on alerts.yml and
/// alerts.test.yml that the tools do not make (every alert has its severity and texts, and a firing and a silent test).
/// </summary>
public sealed partial class DeployToolChecksTests
{
    [Fact]
    public async Task Promtool_check_config_accepts_prometheus_yml_and_the_rule_file_it_loads()
    {
        var result = await PromTools.RunAsync("promtool", "check", "config", DeployFiles.PrometheusConfig);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("SUCCESS: 1 rule files found", result.CombinedOutput, StringComparison.Ordinal);
        Assert.Contains($"SUCCESS: {DeployFiles.RuleCount()} rules found", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_check_rules_accepts_alerts_yml_with_every_lint()
    {
        var result = await PromTools.RunAsync("promtool", "check", "rules", "--lint=all", "--lint-fatal", DeployFiles.AlertRules);

        Assert.True(result.Succeeded, result.ToString());
        // 23 alerts and 25 recording rules (the SLO part).
        Assert.Contains("SUCCESS: 48 rules found", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_test_rules_passes_every_alert_unit_test()
    {
        var result = await PromTools.RunAsync("promtool", "test", "rules", DeployFiles.AlertRuleTests);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("SUCCESS", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Alert_unit_tests_have_a_firing_and_a_silent_case_for_every_alert()
    {
        var root = Yaml.ParseFile(DeployFiles.AlertRuleTests)!.AsObject();
        Assert.Equal("alerts.yml", Assert.Single(root["rule_files"]!.AsArray())!.GetValue<string>());

        var firing = new HashSet<string>(StringComparer.Ordinal);
        var silent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var test in root["tests"]!.AsArray())
        {
            foreach (var check in test!["alert_rule_test"]?.AsArray() ?? [])
            {
                var name = check!["alertname"]!.GetValue<string>();
                var expected = check["exp_alerts"]?.AsArray() ?? [];
                (expected.Count > 0 ? firing : silent).Add(name);
            }
        }

        var alerts = DeployFiles.ReadAlertRules().Select(r => r.Name).ToList();
        Assert.Equal(23, alerts.Count);
        Assert.All(alerts, name =>
        {
            Assert.True(firing.Contains(name), $"alerts.test.yml has no case where {name} fires");
            Assert.True(silent.Contains(name), $"alerts.test.yml has no case where {name} stays silent (exp_alerts: [])");
        });
        Assert.Empty(firing.Union(silent).Except(alerts));
    }

    [Fact]
    public void Every_alert_has_a_severity_a_sensible_for_and_texts_naming_the_service_and_what_fails()
    {
        var rules = DeployFiles.ReadAlertRules();

        Assert.Equal(
            [
                "AvailabilityBudgetFastBurn", "AvailabilityBudgetSlowBurn",
                "DbPoolSaturation", "DependencyDegraded", "DependencyUnhealthy", "HighCpuAgainstLimit", "HighDbCommandsPerRequest",
                "HighErrorRatio", "HighLatencyP95", "HighMemoryAgainstLimit", "HighProcessMemory", "JobFailureRatio", "JobQueueBacklog",
                "KestrelConnectionErrors", "KestrelRejectedConnections", "LatencyBudgetFastBurn", "LatencyBudgetSlowBurn",
                "RepeatedQueries", "SlowQueryRate", "SlowRequestRate",
                "TargetDown", "ThreadPoolStarvation", "WorkerStalled",
            ],
            rules.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.Equal(rules.Count, rules.Select(r => r.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var rule in rules)
        {
            Assert.True(rule.Labels.TryGetValue("severity", out var severity) && severity is "critical" or "warning", $"{rule.Name}: severity '{severity}'");
            var forDuration = DeployFiles.ParseDuration(rule.For);
            Assert.True(forDuration >= TimeSpan.FromMinutes(1) && forDuration <= TimeSpan.FromMinutes(30), $"{rule.Name}: for {rule.For}");

            // The service (job), and every label the rule keeps besides it (endpoint, check, database, instance), are named.
            var kept = ByClause().Matches(rule.Expr)
                .SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                .Where(l => l != "le")
                .Append("job")
                .ToHashSet(StringComparer.Ordinal);
            var recorded = DeployFiles.ReadRecordingRules().Where(r => rule.Expr.Contains(r.Name, StringComparison.Ordinal)).ToList();
            if (recorded.Count > 0)
            {
                // Over recorded series: the labels their level names.
                kept.UnionWith(recorded.SelectMany(r => r.Level));
            }
            else if (!rule.Expr.Contains(" by (", StringComparison.Ordinal))
            {
                // A bare selector keeps every label of its series: name the instance, or the check for a health check.
                kept.Add(rule.Expr.StartsWith("health_check_status", StringComparison.Ordinal) ? "check" : "instance");
            }

            foreach (var annotation in new[] { "summary", "description" })
            {
                Assert.True(rule.Annotations.TryGetValue(annotation, out var text) && text.Length > 0, $"{rule.Name}: no {annotation}");
                foreach (var label in kept)
                {
                    Assert.True(text!.Contains("$labels." + label, StringComparison.Ordinal), $"{rule.Name}: the {annotation} does not name {label}: {text}");
                }
            }
        }
    }

    [Fact]
    public void Recording_rules_aggregate_per_service_and_route_as_their_names_say_never_per_instance()
    {
        var rules = DeployFiles.ReadRecordingRules();
        Assert.Equal(25, rules.Count);

        foreach (var rule in rules)
        {
            // level:metric:operations, the level being the labels kept: every aggregation keeps exactly those (and le
            // inside a quantile), so the series are per service (job) or per service and route, summed over instances.
            Assert.Matches(@"^job(_endpoint)?:[a-z_]+:[a-z0-9_]+$", rule.Name);
            var clauses = ByClause().Matches(rule.Expr).Select(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries).Where(l => l != "le").ToList()).ToList();
            Assert.All(clauses, labels => Assert.Equal(rule.Level, labels));
            if (clauses.Count == 0)
            {
                // No aggregation: it reads series recorded at its own level.
                var read = PromQlNames.Names(rule.Expr);
                Assert.NotEmpty(read);
                Assert.All(read, name => Assert.Contains(rules, r => r.Name == name && r.Level.SequenceEqual(rule.Level)));
            }

            Assert.DoesNotContain("instance", rule.Expr, StringComparison.Ordinal);
        }

        // The burn-rate alerts read those series: per service and route.
        foreach (var alert in DeployFiles.ReadAlertRules().Where(a => a.Labels.ContainsKey("slo")))
        {
            Assert.Matches(@"^(\s|\(|\)|or|and|>|/|[0-9.]|job_endpoint:http_requests_(errors|slow):ratio_rate[0-9]+[mhd])+$", alert.Expr);
        }
    }

    [Theory]
    [InlineData("Availability")]
    [InlineData("Latency")]
    public void Burn_rate_alerts_have_a_fast_burn_a_slow_burn_and_an_inside_the_budget_case(string objective)
    {
        var root = Yaml.ParseFile(DeployFiles.AlertRuleTests)!;
        var cases = root["tests"]!.AsArray()
            .Select(t => t!["alert_rule_test"]?.AsArray()
                .Where(c => c!["alertname"]!.GetValue<string>().StartsWith(objective + "Budget", StringComparison.Ordinal))
                .ToDictionary(c => c!["alertname"]!.GetValue<string>()[(objective.Length + "Budget".Length)..], c => c!["exp_alerts"]!.AsArray().Count > 0))
            .OfType<Dictionary<string, bool>>()
            .Where(c => c.Count == 2)
            .ToList();

        // Each case states both alerts: a fast burn fires both, a slow one only the ticket, half the budget neither.
        Assert.Contains(cases, c => c["FastBurn"] && c["SlowBurn"]);
        Assert.Contains(cases, c => !c["FastBurn"] && c["SlowBurn"]);
        Assert.Contains(cases, c => !c["FastBurn"] && !c["SlowBurn"]);
    }

    [Fact]
    public async Task Amtool_check_config_accepts_alertmanager_yml()
    {
        var result = await PromTools.RunAsync("amtool", "check-config", DeployFiles.AlertmanagerConfig);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("SUCCESS", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("critical", "pager")]
    [InlineData("warning", "chat")]
    [InlineData("info", "default")]
    public async Task Alertmanager_routes_each_severity_to_its_webhook_receiver(string severity, string receiver)
    {
        // Every severity the rules use has a route of its own.
        if (severity != "info")
        {
            Assert.Contains(DeployFiles.ReadAlertRules(), r => r.Labels["severity"] == severity);
        }

        var result = await PromTools.RunAsync(
            "amtool", "config", "routes", "test", $"--config.file={DeployFiles.AlertmanagerConfig}", $"--verify.receivers={receiver}",
            "alertname=HighErrorRatio", "job=sample-api", $"severity={severity}");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(receiver, result.Stdout.Trim());

        var config = Yaml.ParseFile(DeployFiles.AlertmanagerConfig)!.AsObject();
        var definition = config["receivers"]!.AsArray().Single(r => r!["name"]!.GetValue<string>() == receiver)!;
        var url = Assert.Single(definition["webhook_configs"]!.AsArray())!["url"]!.GetValue<string>();
        Assert.True(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https", $"{receiver}: webhook url '{url}'");
    }

    [Fact]
    public void Alertmanager_inhibits_warnings_of_an_instance_that_is_down()
    {
        var config = Yaml.ParseFile(DeployFiles.AlertmanagerConfig)!.AsObject();
        var rule = Assert.Single(config["inhibit_rules"]!.AsArray())!;

        Assert.Equal("alertname=\"TargetDown\"", Assert.Single(rule["source_matchers"]!.AsArray())!.GetValue<string>());
        Assert.Equal("severity=\"warning\"", Assert.Single(rule["target_matchers"]!.AsArray())!.GetValue<string>());
        Assert.Equal(["job", "instance"], rule["equal"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Contains(DeployFiles.ReadAlertRules(), r => r.Name == "TargetDown" && r.Expr == "up == 0");
        Assert.Contains("job", config["route"]!["group_by"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [GeneratedRegex(@"\bby \(([^)]*)\)")]
    private static partial Regex ByClause();
}
