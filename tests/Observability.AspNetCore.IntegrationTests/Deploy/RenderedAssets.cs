using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>The output of <c>bash deploy/render.sh</c> in a temporary directory, laid out as <c>deploy/</c> is.</summary>
internal sealed partial class RenderedAssets : IDisposable
{
    private readonly TempDirectory _directory;

    private RenderedAssets(TempDirectory directory, string prefix)
    {
        _directory = directory;
        Prefix = prefix;
    }

    /// <summary>The prefix as the metric names carry it: empty, or ending in <c>_</c>.</summary>
    public string Prefix { get; }

    public string Root => _directory.Path;

    public string AlertRules => Path("prometheus/alerts.yml");

    public string AlertRuleTests => Path("prometheus/alerts.test.yml");

    public string DashboardsDirectory => Path("grafana/dashboards");

    public string KubernetesDeployment => Path("kubernetes/deployment.yaml");

    /// <summary>Runs <c>bash deploy/render.sh [--prefix prefix] --out tmp</c> and fails the test if it does not succeed.</summary>
    public static async Task<RenderedAssets> RenderAsync(string? prefix)
    {
        var directory = TempDirectory.Create("obs-render");
        try
        {
            string[] args = prefix is null ? ["--out", directory.Path] : ["--prefix", prefix, "--out", directory.Path];
            var result = await RunAsync(args);
            Assert.True(result.Succeeded, result.ToString());
            var normalized = string.IsNullOrEmpty(prefix) || prefix.EndsWith('_') ? prefix ?? "" : prefix + "_";
            return new RenderedAssets(directory, normalized);
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>bash deploy/render.sh</c> with <paramref name="args"/>, from the repository root.</summary>
    public static Task<ToolResult> RunAsync(params string[] args) =>
        ProcessRunner.RunAsync("bash", [DeployFiles.Deploy("render.sh"), .. args], TimeSpan.FromSeconds(60), workingDirectory: DeployFiles.RepositoryRoot);

    /// <summary>An absolute path in the output.</summary>
    public string Path(string relative) => System.IO.Path.Combine(Root, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    /// <summary>Every file written, relative to the output directory with '/' separators, sorted.</summary>
    public IReadOnlyList<string> Files() =>
        Directory.GetFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Root, f).Replace(System.IO.Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Every metric name the rendered rules and dashboards (and, when asked, the rule tests) use, with where.</summary>
    public IReadOnlyList<(string Where, string Name)> MetricNameUses(bool withRuleTests) =>
        MetricNameUses(AlertRules, withRuleTests ? AlertRuleTests : null, DashboardsDirectory);

    /// <summary>
    /// Every metric name used by the rules of <paramref name="rules"/>, the input series and PromQL tests of
    /// <paramref name="ruleTests"/> (when given), and the panel queries and query variables of the dashboards of
    /// <paramref name="dashboards"/>.
    /// </summary>
    public static IReadOnlyList<(string Where, string Name)> MetricNameUses(string rules, string? ruleTests, string dashboards)
    {
        var uses = new List<(string Where, string Name)>();
        void Add(string where, string expr) => uses.AddRange(PromQlNames.Names(expr).Select(n => (where, n)));

        foreach (var rule in DeployFiles.ReadAlertRules(rules))
        {
            Add("alert " + rule.Name, rule.Expr);
        }

        foreach (var rule in DeployFiles.ReadRecordingRules(rules))
        {
            Add("recording rule " + rule.Name, rule.Expr);
        }

        if (ruleTests is not null)
        {
            foreach (var test in Yaml.ParseFile(ruleTests)!["tests"]!.AsArray())
            {
                var name = test!["name"]?.GetValue<string>() ?? "";
                foreach (var series in test["input_series"]?.AsArray() ?? [])
                {
                    Add("input series of test '" + name + "'", series!["series"]!.GetValue<string>());
                }

                foreach (var check in test["promql_expr_test"]?.AsArray() ?? [])
                {
                    Add("promql test of '" + name + "'", check!["expr"]!.GetValue<string>());
                }
            }
        }

        foreach (var query in DeployFiles.PanelQueries(dashboards))
        {
            Add(query.ToString(), query.Expr);
        }

        foreach (var file in DeployFiles.DashboardFiles(dashboards))
        {
            foreach (var variable in DeployFiles.LoadDashboard(file)["templating"]?["list"]?.AsArray() ?? [])
            {
                if (variable!["type"]?.GetValue<string>() != "query")
                {
                    continue;
                }

                var query = variable["query"] is JsonObject q ? q["query"]!.GetValue<string>() : variable["query"]!.GetValue<string>();
                var where = "variable $" + variable["name"]!.GetValue<string>();
                var labelValues = LabelValues().Match(query);
                if (labelValues.Success)
                {
                    if (labelValues.Groups["metric"].Success)
                    {
                        Add(where, labelValues.Groups["metric"].Value);
                    }
                }
                else
                {
                    Add(where, query);
                }
            }
        }

        Assert.NotEmpty(uses);
        return uses;
    }

    /// <summary>
    /// Whether <paramref name="name"/> is recorded by a rule of <paramref name="rules"/> (level:metric:operations), so
    /// Prometheus, not the app, writes it.
    /// </summary>
    public static bool IsRecordedBy(string rules, string name) =>
        name.Contains(':', StringComparison.Ordinal) && DeployFiles.ReadRecordingRules(rules).Any(r => r.Name == name);

    public void Dispose() => _directory.Dispose();

    // label_values(metric{matchers}, label) or label_values(label): Grafana's, not PromQL.
    [GeneratedRegex(@"^\s*label_values\(\s*(?:(?<metric>[A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?)\s*,)?\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$")]
    private static partial Regex LabelValues();
}
