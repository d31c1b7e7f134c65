using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Tests.Health;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Jobs;

/// <summary>A stuck or dead worker is what a restart fixes: its check turns Unhealthy; an idle one never does.</summary>
public sealed class WorkerHealthTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    private static IJobRunner Jobs(TestApp app) => app.App.Services.GetRequiredService<IJobRunner>();

    private static Task<HealthResponse> PollAsync(TestApp app, string path, HttpStatusCode status) =>
        Poll.UntilAsync(() => app.GetAsync(path), r => r.Status == status, r => $"{path} stayed {r.Status}: {r.Text}", intervalMs: 50);

    [Fact]
    public async Task A_run_that_stops_beating_makes_live_503_and_detailed_says_why()
    {
        await using var app = await HealthTestApp.StartAsync();
        using var stop = new CancellationTokenSource();
        using var worker = Jobs(app).RegisterWorker("email-worker", Interval);

        var hang = worker.RunAsync("hang", null, ct => Task.Delay(Timeout.Infinite, ct), stop.Token);
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/live")).Status);
        var live = await PollAsync(app, "/health/live", HttpStatusCode.ServiceUnavailable);
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal("Unhealthy", live.Json!.Value.GetProperty("checks").GetProperty("worker:email-worker").GetProperty("status").GetString());
        var check = detailed.Json!.Value.GetProperty("checks").GetProperty("worker:email-worker");
        Assert.StartsWith("stalled: no beat for", check.GetProperty("error").GetString(), StringComparison.Ordinal);
        var entry = detailed.Json!.Value.GetProperty("workers").GetProperty("email-worker");
        Assert.Equal("Unhealthy", entry.GetProperty("status").GetString());
        Assert.Equal(1, entry.GetProperty("inProgress").GetInt32());

        await stop.CancelAsync();
        await hang;
        await PollAsync(app, "/health/live", HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_worker_waiting_on_an_empty_queue_stays_healthy_however_long()
    {
        await using var app = await HealthTestApp.StartAsync();
        using var stop = new CancellationTokenSource();
        using var worker = Jobs(app).RegisterWorker("idle-worker", Interval);

        var waiting = worker.WaitForWorkAsync(ct => new ValueTask<int>(Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => 0, TaskScheduler.Default)), stop.Token);
        await Task.Delay(Interval * 4);
        var live = await app.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("Healthy", live.Json!.Value.GetProperty("checks").GetProperty("worker:idle-worker").GetProperty("status").GetString());
        await stop.CancelAsync();
        await waiting;
    }

    [Fact]
    public async Task Runs_are_counted_per_worker_with_the_last_failure_and_the_last_beat_is_a_metric()
    {
        await using var app = await HealthTestApp.StartAsync();
        using var worker = Jobs(app).RegisterWorker("report-worker", TimeSpan.FromMinutes(1));

        await worker.RunAsync("render", null, _ => Task.CompletedTask, CancellationToken.None);
        await worker.RunAsync("render", null, _ => throw new TimeoutException("db"), CancellationToken.None);
        var detailed = await app.GetAsync("/health/detailed");
        var metrics = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));

        var entry = detailed.Json!.Value.GetProperty("workers").GetProperty("report-worker");
        Assert.Equal("Healthy", entry.GetProperty("status").GetString());
        Assert.Equal(1, entry.GetProperty("succeeded").GetInt64());
        Assert.Equal(1, entry.GetProperty("failed").GetInt64());
        Assert.Equal("TimeoutException", entry.GetProperty("lastFailure").GetProperty("type").GetString());
        var lastBeat = entry.GetProperty("lastBeat").GetDateTimeOffset();
        Assert.True(DateTimeOffset.UtcNow - lastBeat < TimeSpan.FromMinutes(1));
        var beatMetric = metrics.Value("worker_last_beat_timestamp_seconds", ("worker", "report-worker"));
        Assert.InRange(beatMetric, lastBeat.ToUnixTimeMilliseconds() / 1000.0 - 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 + 1);
    }

    [Fact]
    public async Task A_worker_loop_that_ends_while_the_app_runs_is_faulted()
    {
        await using var app = await HealthTestApp.StartAsync();

        Jobs(app).RegisterWorker("short-lived", Interval).Dispose();
        var live = await app.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, live.Status);
        var detailed = await app.GetAsync("/health/detailed");
        Assert.Contains("ended while the app still runs", detailed.Json!.Value.GetProperty("workers").GetProperty("short-lived").GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loop_registered_again_under_the_same_name_is_healthy_again()
    {
        await using var app = await HealthTestApp.StartAsync();
        Jobs(app).RegisterWorker("restarted", Interval).Dispose();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.GetAsync("/health/live")).Status);

        using var again = Jobs(app).RegisterWorker("restarted", Interval);

        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/live")).Status);
    }

    [Fact]
    public async Task A_background_service_ended_by_a_cancellation_that_is_not_the_host_stopping_is_faulted()
    {
        await using var app = await HealthTestApp.StartAsync(configureBuilder: b =>
        {
            b.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
            b.Services.AddHostedService<TimedOutService>();
        });

        await PollAsync(app, "/health/live", HttpStatusCode.ServiceUnavailable);
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Contains("cancellation", detailed.Json!.Value.GetProperty("workers").GetProperty("TimedOutService").GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_background_service_whose_ExecuteAsync_throws_shows_as_faulted_when_the_host_ignores_it()
    {
        await using var app = await HealthTestApp.StartAsync(configureBuilder: b =>
        {
            b.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
            b.Services.AddHostedService<FailingService>();
        });

        var live = await PollAsync(app, "/health/live", HttpStatusCode.ServiceUnavailable);
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal("Unhealthy", live.Json!.Value.GetProperty("checks").GetProperty("worker:FailingService").GetProperty("status").GetString());
        var reason = detailed.Json!.Value.GetProperty("workers").GetProperty("FailingService").GetProperty("reason").GetString();
        Assert.Equal("faulted: ExecuteAsync ended with InvalidOperationException: queue connection lost", reason);
    }

    [Fact]
    public async Task Worker_checks_can_count_for_readiness_instead_of_liveness()
    {
        await using var app = await HealthTestApp.StartAsync(configuration: new Dictionary<string, string?> { ["Observability:Jobs:WorkerChecks"] = "Ready" });

        Jobs(app).RegisterWorker("short-lived", Interval).Dispose();

        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/live")).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.GetAsync("/health/ready")).Status);
    }

    private sealed class TimedOutService : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            // An HttpClient timeout, say: a cancellation of the service's own, not the host's.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Task.Delay(Timeout.Infinite, timeout.Token);
        }
    }

    private sealed class FailingService : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(100, stoppingToken);
            throw new InvalidOperationException("queue connection lost");
        }
    }
}
