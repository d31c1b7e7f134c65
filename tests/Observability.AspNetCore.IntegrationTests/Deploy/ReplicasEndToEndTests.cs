using System.Globalization;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// The monitoring assets on three replicas of one service: three sample processes scraped as one job by a real
/// Prometheus that loads the rules <c>deploy/render.sh</c> renders (only <c>for:</c> shortened, to 1 s), and a real
/// Alertmanager with the shipped routing whose receivers post to a webhook this test runs. One replica's database is
/// broken, so it alone fails; the recording rules and the alerts must speak for the service, and a stopped replica for
/// itself.
/// </summary>
public sealed class ReplicasEndToEndTests
{
    private const string Route = "/api/items/{id:int}";
    private const int Broken = 0;
    private const int Stopped = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The alerts on the share of 5xx answers: the raw threshold and the SLO's fast and slow burn.</summary>
    private static readonly string[] ErrorAlerts = ["HighErrorRatio", "AvailabilityBudgetFastBurn", "AvailabilityBudgetSlowBurn"];

    [Fact]
    public async Task Errors_on_one_of_three_replicas_alert_once_per_service_and_a_stopped_replica_alerts_for_itself()
    {
        using var rendered = await RenderedAssets.RenderAsync(null);
        var rules = new Dictionary<string, string> { ["alerts.yml"] = DeployFiles.AlertRulesWithFor("1s", rendered.AlertRules) };
        var brokenDatabase = new Dictionary<string, string?>
        {
            // A file under a file, which no machine can create: SQLite cannot open it, so every item request of this replica fails.
            ["ConnectionStrings__Sqlite"] = $"Data Source={Path.Combine(AppProcess.SampleApiDllPath(), "broken.db")}",
        };
        await using var stack = await ReplicaStack.StartAsync([brokenDatabase, new Dictionary<string, string?>(), new Dictionary<string, string?>()], rules);
        var job = DeployStack.Job;

        // Wave 1 creates each replica's series; once Prometheus holds all three, wave 2 makes the rates: 60 requests per
        // replica (180 on the route, over HighErrorRatio's 0.1/s guard over 5m), of which the broken replica's 60 fail.
        Assert.Equal([[500], [200], [200]], await stack.DriveEachAsync(1, "/api/items/1"));
        await stack.Prometheus.WaitForQueryResultAsync(
            $"count by (instance) (http_requests_total{{endpoint=\"{Route}\"}})", Deadline, r => r.GetArrayLength() == 3);
        var statuses = await stack.DriveEachAsync(60, "/api/items/1");
        Assert.All(statuses[Broken], s => Assert.Equal(500, s));
        Assert.All(statuses.Where((_, i) => i != Broken).SelectMany(s => s), s => Assert.Equal(200, s));

        // The recording rules speak for the service: no instance label, the sum over the three replicas.
        var requestRate = await stack.WaitForAsync(
            () => RecordedAgainstReplicasAsync(stack, $"job:http_requests:rate5m{{job=\"{job}\"}}", $"rate(http_requests_total{{job=\"{job}\"}}[5m])"),
            // Each replica below half the total: all three have been scraped after wave 2 (a replica scraped only
            // before it shows a rate near 0, and the other two then carry half each).
            r => r.Recorded.Count == 1 && r.PerInstance.Count == 3 && Near(r.Recorded[0].Value, r.PerInstance.Sum(i => i.Value))
                 && r.PerInstance.All(i => i.Value < r.Recorded[0].Value / 2),
            Deadline,
            "job:http_requests:rate5m equal to the sum over the replicas, no replica carrying half of it",
            r => r.ToString());
        Assert.Equal(["__name__", "job"], requestRate.Recorded[0].Labels.Keys.Order(StringComparer.Ordinal));
        var errorRatio = await stack.WaitForAsync(
            () => QueryAsync(stack, $"job_endpoint:http_requests_errors:ratio_rate5m{{job=\"{job}\", endpoint=\"{Route}\"}}"),
            r => r.Count == 1 && r[0].Value is > 0.25 and < 0.42,
            Deadline,
            "job_endpoint:http_requests_errors:ratio_rate5m at about 1/3",
            r => string.Join('\n', r));
        Assert.Equal(["__name__", "endpoint", "job"], errorRatio[0].Labels.Keys.Order(StringComparer.Ordinal));

        // One alert per service and route for each rule on the error ratio, at the service's ratio (1 in 3), not the broken
        // replica's (1 in 1). Values settle once Prometheus has scraped the second wave from all three replicas.
        var alerts = await stack.WaitForAsync(
            stack.AlertsAsync,
            a => ErrorAlerts.All(name => a.Any(x => x.Name == name && x.State == "firing"))
                 && a.Any(x => x.Name == "HighErrorRatio" && Ratio(x) is > 0.25 and < 0.42),
            Deadline,
            $"{string.Join(", ", ErrorAlerts)} firing, HighErrorRatio at about 1/3",
            a => string.Join('\n', a.Select(x => $"{x} value={x.Value}")));
        Assert.DoesNotContain(alerts, a => a.Name == "TargetDown");
        Assert.All(alerts.Where(a => a.Labels.ContainsKey("slo")), a => Assert.False(a.Labels.ContainsKey("instance"), $"an SLO alert per instance: {a}"));
        var groupBy = DeployFiles.AlertmanagerGroupBy();
        foreach (var name in ErrorAlerts)
        {
            var alert = Assert.Single(alerts, a => a.Name == name);
            Assert.Equal(Route, alert.Label("endpoint"));
            Assert.Equal(job, alert.Label("job"));
            Assert.False(alert.Labels.ContainsKey("instance"), $"{name} is per instance: {alert}");

            // Alertmanager holds it in the group its route names, and the routed receiver's webhook got that group.
            var groups = await WaitForGroupAsync(stack, GroupLabels(alert.Labels, groupBy), group => group.Alerts.Count == 1);
            var group = groups.Single(g => g.Labels["alertname"] == name);
            Assert.Equal(await RoutedReceiverAsync(alert.Labels), group.Receiver);
            await AssertGroupedAsRoutedAsync(groups, groupBy);
            var notification = await WaitForNotificationAsync(stack, GroupLabels(alert.Labels, groupBy), n => n.Alerts.Count == 1);
            Assert.Equal(group.Receiver, notification.Receiver);
            Assert.Equal("/" + group.Receiver, notification.Path);
            Assert.Equal("firing", notification.Status);
            Assert.Equal(Route, notification.Alerts[0]["endpoint"]);
        }

        // One replica stops answering scrapes: TargetDown for that instance only.
        var stopped = stack.Target(Stopped);
        await stack.StopAsync(Stopped);
        alerts = await stack.WaitForAsync(
            stack.AlertsAsync,
            a => a.Any(x => x.Name == "TargetDown" && x.State == "firing"),
            Deadline,
            "TargetDown firing",
            a => string.Join('\n', a));
        var down = Assert.Single(alerts, a => a.Name == "TargetDown");
        Assert.Equal(stopped, down.Label("instance"));
        Assert.Equal(job, down.Label("job"));
        using (var up = await stack.Prometheus.QueryAsync("up == 1"))
        {
            var live = up.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
                .Select(r => r.GetProperty("metric").GetProperty("instance").GetString())
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.Equal(new[] { stack.Target(0), stack.Target(1) }.Order(StringComparer.Ordinal), live);
        }

        var downGroups = await WaitForGroupAsync(stack, GroupLabels(down.Labels, groupBy), group => group.Alerts.Count == 1);
        var downGroup = downGroups.Single(g => g.Labels["alertname"] == "TargetDown");
        Assert.Equal(stopped, downGroup.Alerts[0].Labels["instance"]);
        Assert.Equal(await RoutedReceiverAsync(down.Labels), downGroup.Receiver);
        await AssertGroupedAsRoutedAsync(downGroups, groupBy);
        var downNotification = await WaitForNotificationAsync(stack, GroupLabels(down.Labels, groupBy), n => n.Alerts.Count == 1);
        Assert.Equal(downGroup.Receiver, downNotification.Receiver);
        Assert.Equal(stopped, downNotification.Alerts[0]["instance"]);

        // One replica of three down is not the service down: the service's own warning (the slow burn, which has no
        // instance label) stays active, not inhibited by that replica's TargetDown.
        // Read after the TargetDown notification, by when Alertmanager's inhibitor has seen TargetDown too.
        var slowBurn = (await stack.AlertGroupsAsync()).Single(g => g.Labels["alertname"] == "AvailabilityBudgetSlowBurn");
        Assert.Equal("active", Assert.Single(slowBurn.Alerts).State);
    }

    /// <summary>Within 10% of each other: a recorded rate and the same rate computed a moment later.</summary>
    private static bool Near(double recorded, double computed) => computed > 0 && Math.Abs(recorded - computed) <= 0.1 * computed;

    /// <summary>An instant query's series: labels and value.</summary>
    private static async Task<IReadOnlyList<Series>> QueryAsync(ReplicaStack stack, string promql)
    {
        using var answer = await stack.Prometheus.QueryAsync(promql);
        Assert.Equal("success", answer.RootElement.GetProperty("status").GetString());
        return answer.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => new Series(
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
                double.Parse(r.GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>A recording rule's series, and the expression it aggregates computed per instance.</summary>
    private static async Task<RecordedAndReplicas> RecordedAgainstReplicasAsync(ReplicaStack stack, string recorded, string perSeries) =>
        new(await QueryAsync(stack, recorded), await QueryAsync(stack, $"sum by (instance) ({perSeries})"));

    private static double Ratio(ActiveAlert alert) =>
        double.TryParse(alert.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;

    /// <summary>The labels of the group an alert belongs to: the route's <c>group_by</c> labels that the alert has.</summary>
    private static Dictionary<string, string> GroupLabels(IReadOnlyDictionary<string, string> alert, IReadOnlyList<string> groupBy) =>
        groupBy.Where(alert.ContainsKey).ToDictionary(l => l, l => alert[l], StringComparer.Ordinal);

    private static bool SameLabels(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(l => b.TryGetValue(l.Key, out var value) && value == l.Value);

    /// <summary>Waits until Alertmanager has the group with <paramref name="labels"/> and it satisfies <paramref name="done"/>.</summary>
    private static Task<IReadOnlyList<AlertGroup>> WaitForGroupAsync(ReplicaStack stack, Dictionary<string, string> labels, Func<AlertGroup, bool> done) =>
        stack.WaitForAsync(
            stack.AlertGroupsAsync,
            groups => groups.Any(g => SameLabels(g.Labels, labels) && done(g)),
            Deadline,
            $"Alertmanager group {JsonSerializer.Serialize(labels)}",
            groups => string.Join('\n', groups));

    /// <summary>Waits for a webhook notification whose <c>groupLabels</c> are <paramref name="labels"/>.</summary>
    private static async Task<WebhookNotification> WaitForNotificationAsync(ReplicaStack stack, Dictionary<string, string> labels, Func<WebhookNotification, bool> done)
    {
        var notifications = await stack.WaitForAsync(
            () => Task.FromResult(stack.Webhook.Notifications),
            all => all.Any(Matches),
            Deadline,
            $"webhook notification for group {JsonSerializer.Serialize(labels)}",
            all => string.Join('\n', all));
        return notifications.Last(Matches);

        bool Matches(WebhookNotification n) => SameLabels(n.GroupLabels, labels) && done(n);
    }

    /// <summary>
    /// Every group is keyed by the route's <c>group_by</c> labels of its alerts (Alertmanager leaves out those an alert
    /// lacks), and went to the receiver <c>amtool config routes test</c> resolves for its alerts from the shipped file.
    /// </summary>
    private static async Task AssertGroupedAsRoutedAsync(IReadOnlyList<AlertGroup> groups, IReadOnlyList<string> groupBy)
    {
        foreach (var group in groups)
        {
            foreach (var alert in group.Alerts)
            {
                Assert.True(SameLabels(GroupLabels(alert.Labels, groupBy), group.Labels), $"alert {alert} in group {group}");
                Assert.Equal(await RoutedReceiverAsync(alert.Labels), group.Receiver);
            }
        }
    }

    /// <summary>The receiver the shipped alertmanager.yml routes an alert with <paramref name="labels"/> to, as amtool resolves it.</summary>
    private static async Task<string> RoutedReceiverAsync(IReadOnlyDictionary<string, string> labels)
    {
        var result = await PromTools.RunAsync(
            "amtool",
            ["config", "routes", "test", $"--config.file={DeployFiles.AlertmanagerConfig}", .. labels.Select(l => $"{l.Key}=\"{l.Value.Replace("\"", "\\\"", StringComparison.Ordinal)}\"")]);
        Assert.True(result.Succeeded, result.ToString());
        return result.Stdout.Trim();
    }
}

internal sealed record Series(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public override string ToString() => $"  {JsonSerializer.Serialize(Labels)} {Value.ToString(CultureInfo.InvariantCulture)}";
}

internal sealed record RecordedAndReplicas(IReadOnlyList<Series> Recorded, IReadOnlyList<Series> PerInstance)
{
    public override string ToString() => $"recorded:\n{string.Join('\n', Recorded)}\nper instance:\n{string.Join('\n', PerInstance)}";
}
