using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Jobs;

/// <summary>
/// The sample's background worker, driven as a user would: jobs enqueued by requests, their events read from the real
/// process's stdout and their counts from its /metrics.
/// </summary>
public sealed class SampleJobsTests
{
    private static bool IsJobCompletion(JsonElement e) =>
        e.TryGetProperty("EventId", out var id) && id.TryGetProperty("Name", out var n) && n.GetString() == "JobRunCompleted";

    private static async Task<string> EnqueueAsync(HttpClient client, string kind, string requestId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/jobs/{kind}");
        request.Headers.Add(ClefEvents.RequestIdHeader, requestId);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return requestId;
    }

    private static Task<List<JsonElement>> WaitForAsync(SampleApiProcess sample, Func<JsonElement, bool> predicate, int count) =>
        Poll.UntilAsync(
            () => sample.App.JsonLines().Where(predicate).ToList(),
            matches => matches.Count >= count,
            matches => $"{matches.Count} of {count} events.\n{sample.App.OutputDump}",
            TimeSpan.FromSeconds(20),
            intervalMs: 50);

    [Fact]
    public async Task Jobs_enqueued_by_requests_are_logged_with_the_request_s_id_and_counted_by_outcome()
    {
        await using var sample = await SampleApiProcess.StartAsync();
        var client = sample.Client;

        await EnqueueAsync(client, "fast", "job-fast-1");
        await EnqueueAsync(client, "fail", "job-fail-1");
        await EnqueueAsync(client, "slow", "job-slow-1");
        await EnqueueAsync(client, "fast", "job-fast-2");
        using (var unknown = await client.PostAsync("/api/jobs/explode", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }

        var completions = await WaitForAsync(sample, IsJobCompletion, 4);
        var failed = Assert.Single(completions, e => e.StringProperty("Outcome") == "Failed");
        Assert.Equal("Error", failed.Level());
        Assert.Equal("fail", failed.StringProperty("JobName"));
        Assert.Equal("job-fail-1", failed.StringProperty("RequestId"));
        Assert.Contains("report template is missing", failed.StringProperty("@x"), StringComparison.Ordinal);
        var runId = failed.StringProperty("JobRunId");
        Assert.False(string.IsNullOrEmpty(runId));

        // The job's own event, written through the app's ILogger<T>, carries the same run and request.
        var started = Assert.Single(sample.App.JsonLines(), e => e.StringProperty("JobRunId") == runId && e.StringProperty("@mt") == "Processing a {Kind} job");
        Assert.Equal("job-fail-1", started.StringProperty("RequestId"));
        Assert.Equal("fail", started.StringProperty("JobName"));

        var slow = Assert.Single(await WaitForAsync(sample, e => e.StringProperty("@mt")?.StartsWith("Slow job run", StringComparison.Ordinal) == true, 1));
        Assert.Equal("job-slow-1", slow.StringProperty("RequestId"));
        Assert.Equal(500, slow.GetProperty("ThresholdMs").GetInt32());

        var metrics = Exposition.Parse(await client.GetStringAsync("/metrics"));
        Assert.Equal(2, metrics.Single("job_runs_total", ("job_name", "fast"), ("outcome", "succeeded")));
        Assert.Equal(1, metrics.Single("job_runs_total", ("job_name", "fail"), ("outcome", "failed")));
        Assert.Equal(1, metrics.Single("job_runs_total", ("job_name", "slow"), ("outcome", "succeeded")));
        Assert.Equal(1, metrics.Single("job_run_duration_seconds_count", ("job_name", "slow"), ("outcome", "succeeded")));
        Assert.Equal(1, metrics.Single("job_slow_runs_total", ("job_name", "slow")));
        Assert.Equal(0, metrics.Single("job_queue_depth", ("queue", "sample-jobs")));
    }

    [Fact]
    public async Task A_hang_job_makes_live_503_within_the_beat_interval_and_sigterm_still_exits_0()
    {
        const int BeatIntervalMs = 1000;
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Sample__WorkerBeatIntervalMs"] = BeatIntervalMs.ToString(CultureInfo.InvariantCulture),
        });
        using (var before = await sample.Client.GetAsync("/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await EnqueueAsync(sample.Client, "hang", "job-hang-1");
        await WaitForAsync(sample, e => e.StringProperty("@mt") == "Processing a {Kind} job" && e.StringProperty("JobName") == "hang", 1);
        var stalled = Stopwatch.StartNew();
        while (true)
        {
            using var live = await sample.Client.GetAsync("/health/live");
            if (live.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                using var body = JsonDocument.Parse(await live.Content.ReadAsStringAsync());
                Assert.Equal("Unhealthy", body.RootElement.GetProperty("checks").GetProperty("worker:sample-worker").GetProperty("status").GetString());
                break;
            }

            // The interval, plus a margin for the time the job took to log its start and for a loaded machine.
            Assert.True(stalled.ElapsedMilliseconds < BeatIntervalMs + 3000, $"/health/live still {live.StatusCode} {stalled.ElapsedMilliseconds} ms into the hang.");
            await Task.Delay(100);
        }

        var clock = Stopwatch.StartNew();
        await sample.App.SendSigtermAsync();
        var exitCode = await sample.App.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.True(exitCode == 0, $"exit code {exitCode} after {clock.Elapsed.TotalSeconds:0.0} s.\n{sample.App.OutputDump}");
        var completion = Assert.Single(sample.App.JsonLines(), IsJobCompletion);
        Assert.Equal("Cancelled", completion.StringProperty("Outcome"));
        Assert.Equal("job-hang-1", completion.StringProperty("RequestId"));
    }

    [Fact]
    public async Task On_a_redis_queue_jobs_carry_their_request_and_a_stopped_redis_leaves_the_worker_idle_and_live_200()
    {
        const int BeatIntervalMs = 1000;
        await using var redis = await RedisServer.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            ["Sample__WorkerBeatIntervalMs"] = BeatIntervalMs.ToString(CultureInfo.InvariantCulture),
        });

        await EnqueueAsync(sample.Client, "fail", "redis-fail-1");
        var failed = Assert.Single(await WaitForAsync(sample, IsJobCompletion, 1));
        Assert.Equal("redis-fail-1", failed.StringProperty("RequestId"));
        Assert.Equal("Failed", failed.StringProperty("Outcome"));

        await redis.StopAsync();

        // Several beat intervals with the queue unreachable: the worker waits, idle, and liveness stays 200.
        await Task.Delay(BeatIntervalMs * 4);
        using (var live = await sample.Client.GetAsync("/health/live"))
        {
            var body = await live.Content.ReadAsStringAsync();
            Assert.True(live.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("worker:sample-worker").GetProperty("status").GetString());
        }

        using (var refused = await sample.Client.PostAsync("/api/jobs/fast", null))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        // Back: the worker picks up where it left off.
        await redis.StartAgainAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/fast");
            request.Headers.Add(ClefEvents.RequestIdHeader, "redis-fast-1");
            using var response = await sample.Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"Enqueue still {response.StatusCode} after Redis restarted.");
            await Task.Delay(200);
        }

        var fast = await WaitForAsync(sample, e => IsJobCompletion(e) && e.StringProperty("RequestId") == "redis-fast-1", 1);
        Assert.Equal("Succeeded", Assert.Single(fast).StringProperty("Outcome"));
    }

    [Fact]
    public async Task A_hosted_service_whose_ExecuteAsync_throws_shows_as_faulted_in_detailed_and_turns_live_503()
    {
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Sample__FaultingServiceAfterMs"] = "500",
        });

        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var live = await sample.Client.GetAsync("/health/live");
            if (live.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"/health/live still {live.StatusCode}.\n{sample.App.OutputDump}");
            await Task.Delay(100);
        }

        using var detailedResponse = await sample.Client.GetAsync("/health/detailed");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailedResponse.StatusCode);
        using var detailed = JsonDocument.Parse(await detailedResponse.Content.ReadAsStringAsync());
        var worker = detailed.RootElement.GetProperty("workers").GetProperty("FaultingService");
        Assert.Equal("Unhealthy", worker.GetProperty("status").GetString());
        Assert.Equal("faulted: ExecuteAsync ended with InvalidOperationException: The report scheduler lost its connection and gave up.", worker.GetProperty("reason").GetString());

        // The host ran on without it, as told: the API still answers.
        using var items = await sample.Client.GetAsync("/api/items");
        Assert.Equal(HttpStatusCode.OK, items.StatusCode);
    }
}
