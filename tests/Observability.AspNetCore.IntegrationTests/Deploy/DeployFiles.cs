using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>A PromQL query of a dashboard panel.</summary>
internal sealed record PanelQuery(int PanelId, string PanelTitle, string RefId, string Expr)
{
    public override string ToString() => $"panel {PanelId} '{PanelTitle}' {RefId}";
}

/// <summary>An alert rule of <c>deploy/prometheus/alerts.yml</c> as written in the file.</summary>
internal sealed record AlertRule(string Name, string Expr, string For, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations);

/// <summary>A recording rule of <c>deploy/prometheus/alerts.yml</c> (the SLO part render.sh writes).</summary>
internal sealed record RecordingRule(string Name, string Expr)
{
    /// <summary>The labels the name says the series keeps: its level, the part before the first ':'.</summary>
    public IReadOnlyList<string> Level => Name[..Name.IndexOf(':', StringComparison.Ordinal)].Split('_');
}

/// <summary>The files under <c>deploy/</c>, located from the test's output directory, and what the tests derive from them.</summary>
internal static partial class DeployFiles
{
    /// <summary>The grafana data-source uid every panel must use.</summary>
    public const string DataSourceUid = "observability-prometheus";

    /// <summary>Where <c>deploy/prometheus/prometheus.yml</c> expects the sample API (the compose stack runs it on the host).</summary>
    public const string ShippedTarget = "host.docker.internal:5080";

    /// <summary>The base of the receivers' webhook URLs in alertmanager.yml, which a user replaces.</summary>
    private const string ReceiverPlaceholder = "http://alert-receiver.invalid/";

    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    public static string RepositoryRoot => Root.Value;

    public static string DeployDirectory => Path.Combine(RepositoryRoot, "deploy");

    public static string PrometheusConfig => Deploy("prometheus/prometheus.yml");

    public static string AlertRules => Deploy("prometheus/alerts.yml");

    public static string AlertRuleTests => Deploy("prometheus/alerts.test.yml");

    public static string AlertmanagerConfig => Deploy("alertmanager/alertmanager.yml");

    public static string GrafanaDataSources => Deploy("grafana/provisioning/datasources/prometheus.yml");

    public static string GrafanaDashboardProviders => Deploy("grafana/provisioning/dashboards/dashboards.yml");

    public static string GrafanaDashboardsDirectory => Deploy("grafana/dashboards");

    public static string Compose => Deploy("docker-compose.monitoring.yml");

    public static string KubernetesDeployment => Deploy("kubernetes/deployment.yaml");

    /// <summary>An absolute path under <c>deploy/</c>.</summary>
    public static string Deploy(string relative) => Path.Combine(DeployDirectory, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Every dashboard JSON file (at least one) of <paramref name="directory"/>, by default the committed ones.</summary>
    public static IReadOnlyList<string> DashboardFiles(string? directory = null)
    {
        var files = Directory.GetFiles(directory ?? GrafanaDashboardsDirectory, "*.json").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        return files;
    }

    public static JsonObject LoadDashboard(string path) =>
        JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path} is not a JSON object");

    /// <summary>The panels of a dashboard, those nested in collapsed rows included.</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard)
    {
        foreach (var panel in dashboard["panels"]?.AsArray() ?? [])
        {
            var p = panel!.AsObject();
            yield return p;
            foreach (var nested in p["panels"]?.AsArray() ?? [])
            {
                yield return nested!.AsObject();
            }
        }
    }

    /// <summary>Every panel query of every dashboard of <paramref name="directory"/>, by default the committed ones.</summary>
    public static IReadOnlyList<PanelQuery> PanelQueries(string? directory = null)
    {
        var queries = new List<PanelQuery>();
        foreach (var file in DashboardFiles(directory))
        {
            foreach (var panel in Panels(LoadDashboard(file)))
            {
                foreach (var target in panel["targets"]?.AsArray() ?? [])
                {
                    queries.Add(new PanelQuery(
                        panel["id"]!.GetValue<int>(),
                        panel["title"]?.GetValue<string>() ?? "",
                        target!["refId"]?.GetValue<string>() ?? "",
                        target["expr"]?.GetValue<string>() ?? ""));
                }
            }
        }

        Assert.NotEmpty(queries);
        return queries;
    }

    /// <summary>
    /// Grafana variables replaced so the expression runs in Prometheus as is: <c>$job</c> and <c>$instance</c> (All)
    /// become <c>.+</c>.
    /// </summary>
    public static string Substitute(string expr) =>
        expr.Replace("$job", ".+", StringComparison.Ordinal).Replace("$instance", ".+", StringComparison.Ordinal);

    /// <summary>The alerting rules of alerts.yml, read from the file (<paramref name="path"/>, by default the committed one).</summary>
    public static IReadOnlyList<AlertRule> ReadAlertRules(string? path = null)
    {
        var root = Yaml.ParseFile(path ?? AlertRules)!.AsObject();
        var rules = new List<AlertRule>();
        foreach (var group in root["groups"]!.AsArray())
        {
            foreach (var rule in group!["rules"]!.AsArray())
            {
                if (rule!["record"] is not null)
                {
                    continue;
                }

                rules.Add(new AlertRule(
                    rule["alert"]?.GetValue<string>() ?? throw new InvalidDataException("alerts.yml: a rule with neither 'alert' nor 'record'"),
                    rule["expr"]!.GetValue<string>().Trim(),
                    rule["for"]?.GetValue<string>() ?? "0s",
                    ToDictionary(rule["labels"]),
                    ToDictionary(rule["annotations"])));
            }
        }

        return rules;
    }

    /// <summary>The recording rules of alerts.yml (<paramref name="path"/>, by default the committed one).</summary>
    public static IReadOnlyList<RecordingRule> ReadRecordingRules(string? path = null) =>
        Yaml.ParseFile(path ?? AlertRules)!["groups"]!.AsArray()
            .SelectMany(g => g!["rules"]!.AsArray())
            .Where(r => r!["record"] is not null)
            .Select(r => new RecordingRule(r!["record"]!.GetValue<string>(), r["expr"]!.GetValue<string>().Trim()))
            .ToList();

    /// <summary>How many rules, alerting and recording, alerts.yml (<paramref name="path"/>) holds.</summary>
    public static int RuleCount(string? path = null) => ReadAlertRules(path).Count + ReadRecordingRules(path).Count;

    /// <summary>
    /// A copy of alerts.yml (<paramref name="path"/>, by default the committed one) for end-to-end runs: every <c>for:</c>
    /// becomes <paramref name="forDuration"/>, nothing else changes (asserted line by line, so the expressions under test
    /// are the shipped ones).
    /// </summary>
    public static string AlertRulesWithFor(string forDuration, string? path = null)
    {
        var original = File.ReadAllText(path ?? AlertRules);
        var rewritten = ForLine().Replace(original, m => m.Groups["indent"].Value + "for: " + forDuration);
        var before = original.Split('\n');
        var after = rewritten.Split('\n');
        Assert.Equal(before.Length, after.Length);
        for (var i = 0; i < before.Length; i++)
        {
            if (before[i] != after[i])
            {
                Assert.Matches(ForLine(), before[i]);
            }
        }

        // Every rule's 'for:' was a line of its own that the rewrite reached.
        Assert.Equal(ReadAlertRules(path).Count(r => r.For != "0s"), ForLine().Matches(original).Count);
        return rewritten;
    }

    /// <summary>
    /// deploy/prometheus/prometheus.yml made runnable on loopback: scrape and evaluation intervals set to
    /// <paramref name="interval"/>, the sample target replaced by <paramref name="target"/>, and the Alertmanager address
    /// by <paramref name="alertmanager"/>. Everything else (job name, metrics path, rule_files) stays as shipped.
    /// </summary>
    public static string LoopbackPrometheusConfig(string target, string alertmanager, string interval = "1s") =>
        LoopbackPrometheusConfig([target], alertmanager, interval);

    /// <summary>
    /// deploy/prometheus/prometheus.yml as <see cref="LoopbackPrometheusConfig(string, string, string)"/> makes it, with the
    /// one shipped target replaced by all of <paramref name="targets"/> (replicas of one service: one job, one
    /// <c>instance</c> each).
    /// </summary>
    public static string LoopbackPrometheusConfig(IReadOnlyList<string> targets, string alertmanager, string interval = "1s")
    {
        var text = File.ReadAllText(PrometheusConfig);
        var root = Yaml.Parse(text, PrometheusConfig)!.AsObject();
        var shippedAlertmanager = root["alerting"]!["alertmanagers"]![0]!["static_configs"]![0]!["targets"]![0]!.GetValue<string>();

        text = Replace(text, $"\"{ShippedTarget}\"", string.Join(", ", targets.Select(t => $"\"{t}\"")));
        text = Replace(text, shippedAlertmanager, alertmanager);
        var intervals = IntervalLine().Matches(text).Count;
        Assert.True(intervals == 2, $"expected scrape_interval and evaluation_interval once each in prometheus.yml, found {intervals} interval lines");
        return IntervalLine().Replace(text, m => $"{m.Groups["indent"].Value}{m.Groups["key"].Value}: {interval}");

        static string Replace(string text, string from, string to)
        {
            Assert.True(text.Contains(from, StringComparison.Ordinal), $"prometheus.yml no longer contains '{from}'");
            return text.Replace(from, to, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// deploy/alertmanager/alertmanager.yml made runnable on loopback: each receiver's placeholder URL
    /// (<c>http://alert-receiver.invalid/NAME</c>) points at <paramref name="webhook"/> + NAME instead, and
    /// <c>group_wait</c>/<c>group_interval</c> become <paramref name="groupWait"/> so a test sees notifications in seconds.
    /// Routes, matchers, <c>group_by</c> and inhibit rules stay as shipped (asserted line by line).
    /// </summary>
    public static string LoopbackAlertmanagerConfig(Uri webhook, string groupWait = "1s")
    {
        var original = File.ReadAllText(AlertmanagerConfig);
        Assert.True(original.Contains(ReceiverPlaceholder, StringComparison.Ordinal), $"alertmanager.yml no longer contains '{ReceiverPlaceholder}'");
        var rewritten = original.Replace(ReceiverPlaceholder, webhook.AbsoluteUri, StringComparison.Ordinal);
        rewritten = GroupTimingLine().Replace(rewritten, m => $"{m.Groups["indent"].Value}{m.Groups["key"].Value}: {groupWait}");
        var before = original.Split('\n');
        var after = rewritten.Split('\n');
        Assert.Equal(before.Length, after.Length);
        for (var i = 0; i < before.Length; i++)
        {
            if (before[i] != after[i])
            {
                Assert.True(before[i].Contains(ReceiverPlaceholder, StringComparison.Ordinal) || GroupTimingLine().IsMatch(before[i]), $"changed line: {before[i]}");
            }
        }

        return rewritten;
    }

    /// <summary>The labels the top route of alertmanager.yml groups by (its one <c>group_by</c>, inherited by every child route).</summary>
    public static IReadOnlyList<string> AlertmanagerGroupBy()
    {
        var lines = GroupByLine().Matches(File.ReadAllText(AlertmanagerConfig));
        Assert.True(lines.Count == 1, $"expected one group_by line in alertmanager.yml (the top route's), found {lines.Count}");
        return lines[0].Groups["labels"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A Prometheus duration (<c>1m</c>, <c>1h30m</c>, <c>500ms</c>) as a TimeSpan.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var total = TimeSpan.Zero;
        var matches = DurationPart().Matches(text);
        Assert.True(matches.Sum(m => m.Length) == text.Length && matches.Count > 0, $"'{text}' is not a Prometheus duration");
        foreach (Match m in matches)
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                "h" => TimeSpan.FromHours(value),
                "d" => TimeSpan.FromDays(value),
                "w" => TimeSpan.FromDays(7 * value),
                _ => TimeSpan.FromDays(365 * value),
            };
        }

        return total;
    }

    /// <summary>A Kubernetes memory quantity (<c>512Mi</c>, <c>1Gi</c>, <c>1G</c>, bytes) in bytes.</summary>
    public static long ParseKubernetesBytes(string text)
    {
        var m = KubernetesQuantity().Match(text);
        Assert.True(m.Success, $"'{text}' is not a Kubernetes memory quantity");
        var value = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return value * m.Groups[2].Value switch
        {
            "" => 1L,
            "Ki" => 1L << 10,
            "Mi" => 1L << 20,
            "Gi" => 1L << 30,
            "Ti" => 1L << 40,
            "k" => 1_000L,
            "M" => 1_000_000L,
            "G" => 1_000_000_000L,
            _ => 1_000_000_000_000L,
        };
    }

    public static IReadOnlyDictionary<string, string> ToDictionary(JsonNode? node) =>
        node is JsonObject map
            ? map.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Observability.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Observability.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^(?<indent>[ ]+)for:[ ]*\S+[ ]*$", RegexOptions.Multiline)]
    private static partial Regex ForLine();

    [GeneratedRegex(@"^(?<indent>[ ]*)(?<key>scrape_interval|evaluation_interval):[ ]*\S+[ ]*$", RegexOptions.Multiline)]
    private static partial Regex IntervalLine();

    [GeneratedRegex(@"^(?<indent>[ ]*)(?<key>group_wait|group_interval):[ ]*\S+[ ]*$", RegexOptions.Multiline)]
    private static partial Regex GroupTimingLine();

    [GeneratedRegex(@"^[ ]*group_by:[ ]*\[(?<labels>[^\]]*)\][ ]*$", RegexOptions.Multiline)]
    private static partial Regex GroupByLine();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")]
    private static partial Regex DurationPart();

    [GeneratedRegex(@"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")]
    private static partial Regex KubernetesQuantity();
}
