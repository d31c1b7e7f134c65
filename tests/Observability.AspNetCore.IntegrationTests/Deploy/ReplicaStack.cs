using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// Several replicas of the sample API behind one scrape job, a real Prometheus scraping them all every second with
/// <c>deploy/prometheus/prometheus.yml</c> and the given rule files, and a real Alertmanager with
/// <c>deploy/alertmanager/alertmanager.yml</c> whose receivers post to an <see cref="AlertWebhookReceiver"/>.
/// </summary>
internal sealed class ReplicaStack : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly TempDirectory _dataDirectory;
    private readonly AppProcess[] _replicas;

    private ReplicaStack(TempDirectory dataDirectory, AppProcess[] replicas, AlertWebhookReceiver webhook, AlertmanagerServer alertmanager, PrometheusServer prometheus)
    {
        _dataDirectory = dataDirectory;
        _replicas = replicas;
        Webhook = webhook;
        Alertmanager = alertmanager;
        Prometheus = prometheus;
    }

    public IReadOnlyList<AppProcess> Replicas => _replicas;

    public AlertWebhookReceiver Webhook { get; }

    public AlertmanagerServer Alertmanager { get; }

    public PrometheusServer Prometheus { get; }

    /// <summary><c>host:port</c> of replica <paramref name="index"/>: the <c>instance</c> label of its series.</summary>
    public string Target(int index) => TargetOf(_replicas[index]);

    /// <summary>
    /// Starts the webhook receiver, Alertmanager, one sample process per entry of <paramref name="replicaEnvironments"/>
    /// (each with its own SQLite file, then that entry's variables) and Prometheus with <paramref name="ruleFiles"/>
    /// (file name → content, as prometheus.yml's <c>rule_files</c> name them).
    /// </summary>
    public static async Task<ReplicaStack> StartAsync(IReadOnlyList<IDictionary<string, string?>> replicaEnvironments, IReadOnlyDictionary<string, string> ruleFiles)
    {
        var data = TempDirectory.Create("obs-replicas");
        AlertWebhookReceiver? webhook = null;
        AlertmanagerServer? alertmanager = null;
        var starts = new List<Task<AppProcess>>();
        try
        {
            webhook = await AlertWebhookReceiver.StartAsync();
            alertmanager = await AlertmanagerServer.StartAsync(DeployFiles.LoopbackAlertmanagerConfig(webhook.BaseAddress));
            for (var i = 0; i < replicaEnvironments.Count; i++)
            {
                var variables = new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["ConnectionStrings__Sqlite"] = $"Data Source={data.Combine($"replica{i.ToString(CultureInfo.InvariantCulture)}.db")}",
                };
                foreach (var (key, value) in replicaEnvironments[i])
                {
                    variables[key] = value;
                }

                starts.Add(AppProcess.StartAsync(AppProcess.SampleApiDllPath(), variables));
            }

            var replicas = await Task.WhenAll(starts);
            var config = DeployFiles.LoopbackPrometheusConfig(replicas.Select(TargetOf).ToList(), alertmanager.Target);
            var prometheus = await PrometheusServer.StartAsync(config, ruleFiles);
            return new ReplicaStack(data, replicas, webhook, alertmanager, prometheus);
        }
        catch
        {
            foreach (var start in starts)
            {
                if (start.IsCompletedSuccessfully)
                {
                    await start.Result.DisposeAsync();
                }
            }

            if (alertmanager is not null)
            {
                await alertmanager.DisposeAsync();
            }

            if (webhook is not null)
            {
                await webhook.DisposeAsync();
            }

            data.Dispose();
            throw;
        }
    }

    /// <summary>GETs <paramref name="path"/> <paramref name="count"/> times on every live replica, all at once; the status codes per replica.</summary>
    public async Task<int[][]> DriveEachAsync(int count, string path)
    {
        var perReplica = _replicas.Select(replica => Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            using var response = await replica.Client.GetAsync(new Uri(path, UriKind.Relative));
            return (int)response.StatusCode;
        })));
        return await Task.WhenAll(perReplica);
    }

    /// <summary>Stops replica <paramref name="index"/> (killed, as a crashed pod would be).</summary>
    public ValueTask StopAsync(int index) => _replicas[index].DisposeAsync();

    public Task<IReadOnlyList<ActiveAlert>> AlertsAsync() => ActiveAlert.ReadAsync(Prometheus);

    /// <summary>Alertmanager's groups (<c>/api/v2/alerts/groups</c>): its routing's view of the alerts it holds.</summary>
    public async Task<IReadOnlyList<AlertGroup>> AlertGroupsAsync()
    {
        using var document = await Alertmanager.GetAsync("/api/v2/alerts/groups");
        return document.RootElement.EnumerateArray()
            .Select(g => new AlertGroup(
                Labels(g.GetProperty("labels")),
                g.GetProperty("receiver").GetProperty("name").GetString() ?? "",
                g.GetProperty("alerts").EnumerateArray()
                    .Select(a => new GroupedAlert(Labels(a.GetProperty("labels")), a.GetProperty("status").GetProperty("state").GetString() ?? ""))
                    .ToList()))
            .ToList();
    }

    /// <summary>Reads <paramref name="read"/> every 250 ms until <paramref name="done"/> holds; bounded by <paramref name="timeout"/>.</summary>
    public async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string> describe)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"{what}: not reached within {timeout.TotalSeconds:0} s. Last seen:\n{describe(value)}\n" +
                    $"--- webhook notifications ---\n{string.Join('\n', Webhook.Notifications)}\n" +
                    $"--- prometheus log ---\n{Prometheus.LogTail}\n--- alertmanager log ---\n{Alertmanager.LogTail}");
            }

            await Task.Delay(PollInterval);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        await Alertmanager.DisposeAsync();
        await Webhook.DisposeAsync();
        _dataDirectory.Dispose();
    }

    private static string TargetOf(AppProcess app) =>
        $"{app.BaseAddress.Host}:{app.BaseAddress.Port.ToString(CultureInfo.InvariantCulture)}";

    private static Dictionary<string, string> Labels(JsonElement labels) =>
        labels.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
}

/// <summary>An Alertmanager aggregation group: its labels (the route's <c>group_by</c>), its receiver and its alerts.</summary>
internal sealed record AlertGroup(IReadOnlyDictionary<string, string> Labels, string Receiver, IReadOnlyList<GroupedAlert> Alerts)
{
    public override string ToString() =>
        $"  {JsonSerializer.Serialize(Labels)} -> {Receiver}: {string.Join(", ", Alerts)}";
}

/// <summary>An alert as Alertmanager holds it: its labels and its state (<c>active</c>, or <c>suppressed</c> when inhibited or silenced).</summary>
internal sealed record GroupedAlert(IReadOnlyDictionary<string, string> Labels, string State)
{
    public override string ToString() => $"{State} {JsonSerializer.Serialize(Labels)}";
}
