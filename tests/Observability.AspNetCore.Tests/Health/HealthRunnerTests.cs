using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Observability.AspNetCore.Health;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

/// <summary>The caching, single-flight, timeout-bounded runner, seen through the endpoints.</summary>
[Collection(HealthTimingCollection.Name)]
public sealed class HealthRunnerTests
{
    private static Dictionary<string, string?> Settings(int cacheMs = 1000, int timeoutMs = 2000) => new()
    {
        ["Observability:Health:CacheMs"] = cacheMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Observability:Health:TimeoutMs"] = timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<HealthResponse[]> FloodAsync(TestApp app, string path, int total, int concurrency)
    {
        var results = new HealthResponse[total];
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                results[i] = await app.GetAsync(path);
            }
        });
        await Task.WhenAll(workers);
        return results;
    }

    [Fact]
    public async Task A_flood_of_probes_runs_each_check_once_per_cache_window()
    {
        var postgres = new ControlledCheck { Delay = TimeSpan.FromMilliseconds(50) };
        var redis = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("postgres", postgres, tags: ["ready"]).AddCheck("redis", redis, tags: ["ready"]),
            Settings(cacheMs: 60_000));

        var responses = await FloodAsync(app, "/health/ready", total: 1000, concurrency: 50);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(1, postgres.Invocations);
        Assert.Equal(1, redis.Invocations);
    }

    [Fact]
    public async Task A_cached_result_is_reused_until_CacheMs_has_passed()
    {
        var check = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", check, tags: ["ready"]), Settings(cacheMs: 300));

        await app.GetAsync("/health/ready");
        await app.GetAsync("/health/ready");
        await app.GetAsync("/health/detailed");
        Assert.Equal(1, check.Invocations);

        await Task.Delay(450);
        await app.GetAsync("/health/ready");
        Assert.Equal(2, check.Invocations);
    }

    [Fact]
    public async Task With_the_cache_off_concurrent_callers_still_share_one_run()
    {
        var check = new ControlledCheck { Delay = TimeSpan.FromMilliseconds(400) };
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", check, tags: ["ready"]), Settings(cacheMs: 0));

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => app.GetAsync("/health/ready")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(1, check.Invocations);
        Assert.Equal(1, check.MaxConcurrent);
    }

    [Fact]
    public async Task A_check_that_never_finishes_is_unhealthy_timed_out_within_the_timeout_plus_500_ms()
    {
        var hanging = new ControlledCheck { Delay = TimeSpan.FromHours(1) };
        var healthy = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("postgres", hanging, tags: ["ready"]).AddCheck("redis", healthy, tags: ["ready"]),
            Settings(cacheMs: 0, timeoutMs: 300));
        await WarmUpAsync(app);

        var ready = await app.GetAsync("/health/ready");
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.True(ready.Elapsed < TimeSpan.FromMilliseconds(2000), $"ready took {ready.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("Unhealthy", ready.Check("postgres").GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.Check("redis").GetProperty("status").GetString());
        Assert.True(detailed.Elapsed < TimeSpan.FromMilliseconds(800), $"detailed took {detailed.Elapsed.TotalMilliseconds} ms");
        Assert.Equal("timed out", detailed.Check("postgres").GetProperty("error").GetString());
        Assert.Equal("Healthy", detailed.Check("redis").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_check_that_ignores_cancellation_is_never_started_again_while_it_hangs()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hanging = new ControlledCheck { IgnoreCancellationUntil = release.Task };
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", hanging, tags: ["ready"]), Settings(cacheMs: 0, timeoutMs: 200));
        await WarmUpAsync(app);

        for (var i = 0; i < 6; i++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => app.GetAsync("/health/detailed")));
            Assert.All(responses, r =>
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.Status);
                Assert.Equal("timed out", r.Check("postgres").GetProperty("error").GetString());
                Assert.True(r.Elapsed < TimeSpan.FromMilliseconds(700), $"took {r.Elapsed.TotalMilliseconds} ms");
            });
        }

        // 30 probes, one stuck run: no task, thread or connection attempt per probe, and one warning for the hang.
        Assert.Equal(1, hanging.Invocations);
        var stuck = await app.WaitForEventsAsync(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 1402);
        Assert.Single(stuck);
        Assert.Equal("postgres", stuck[0].Str("HealthCheck"));

        // Once it returns, its late result is reported, and the next probe starts a fresh run.
        release.SetResult();
        await WaitUntilAsync(async () => (await app.GetAsync("/health/ready")).Status == HttpStatusCode.OK);
        var before = hanging.Invocations;
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/ready")).Status);
        Assert.Equal(before + 1, hanging.Invocations);
    }

    [Fact]
    public async Task A_check_that_blocks_its_thread_does_not_hold_the_probe_past_the_timeout()
    {
        // The check blocks its thread for 4 s; the probe must answer at its 300 ms timeout, not then.
        var blocking = new ControlledCheck { BlockThread = true, Delay = TimeSpan.FromSeconds(4) };
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("legacy", blocking, tags: ["ready"]), Settings(cacheMs: 0, timeoutMs: 300));
        await WarmUpAsync(app);

        var ready = await app.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.True(ready.Elapsed < TimeSpan.FromMilliseconds(2000), $"ready took {ready.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_check_that_throws_is_unhealthy_with_the_exception_message_never_a_500()
    {
        await using var app = await HealthTestApp.StartAsync(c => c
            .AddCheck("broken", new ControlledCheck { Throw = new InvalidOperationException("queue 'orders' does not exist") }, tags: ["ready", "live"]));

        var ready = await app.GetAsync("/health/ready");
        var live = await app.GetAsync("/health/live");
        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, live.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.Status);
        Assert.Equal("Unhealthy", detailed.Check("broken").GetProperty("status").GetString());
        Assert.Equal("queue 'orders' does not exist", detailed.Check("broken").GetProperty("error").GetString());
        Assert.DoesNotContain("   at ", detailed.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_check_that_throws_synchronously_from_its_factory_is_unhealthy_too()
    {
        await using var app = await HealthTestApp.StartAsync(c => c.Add(new HealthCheckRegistration(
            "misconfigured",
            _ => throw new InvalidOperationException("no such service"),
            failureStatus: null,
            tags: ["ready"])));

        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.Status);
        Assert.Equal("no such service", detailed.Check("misconfigured").GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_timeout_given_at_registration_overrides_the_default_for_that_check()
    {
        var slow = new ControlledCheck { Delay = TimeSpan.FromMilliseconds(600) };
        var alsoSlow = new ControlledCheck { Delay = TimeSpan.FromMilliseconds(600) };
        await using var app = await HealthTestApp.StartAsync(
            c => c.AddCheck("strict", slow, tags: ["ready"], timeout: TimeSpan.FromMilliseconds(200)).AddCheck("default", alsoSlow, tags: ["ready"]),
            Settings(timeoutMs: 5000));

        var detailed = await app.GetAsync("/health/detailed");

        Assert.Equal("timed out", detailed.Check("strict").GetProperty("error").GetString());
        Assert.Equal("Healthy", detailed.Check("default").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_status_change_is_logged_once_per_transition_not_per_probe()
    {
        var check = new ControlledCheck { Status = HealthStatus.Unhealthy, Description = "down" };
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", check, tags: ["ready"]), Settings(cacheMs: 0));

        for (var i = 0; i < 5; i++)
        {
            await app.GetAsync("/health/ready");
        }

        check.Status = HealthStatus.Healthy;
        await app.GetAsync("/health/ready");

        var failed = await app.WaitForEventsAsync(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 1400);
        var recovered = await app.WaitForEventsAsync(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 1401);
        Assert.Single(failed);
        Assert.Single(recovered);
        Assert.Equal("postgres", failed[0].Str("HealthCheck"));
        Assert.Equal("Unhealthy", failed[0].Str("HealthStatus"));
        Assert.Equal("Warning", failed[0].Level());
    }

    [Fact]
    public async Task The_runner_counts_one_started_run_per_cache_window_per_check()
    {
        var check = new ControlledCheck();
        await using var app = await HealthTestApp.StartAsync(c => c.AddCheck("postgres", check, tags: ["ready"]), Settings(cacheMs: 60_000));

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => app.GetAsync("/health/detailed")));

        Assert.Equal(1, app.App.Services.GetRequiredService<HealthCheckRunner>().RunsStarted("postgres"));
    }

    /// <summary>
    /// One untimed round first: the bounds below are about a running app, not about the first request of a test host
    /// that JIT-compiles the path while the other test classes start on the same two cores.
    /// </summary>
    private static async Task WarmUpAsync(TestApp app)
    {
        await app.GetAsync("/health/ready");
        await app.GetAsync("/health/detailed");
    }

    internal static Task WaitUntilAsync(Func<Task<bool>> condition, int timeoutMs = 5000) =>
        Poll.UntilAsync(condition, met => met, _ => "Condition not met in time.", TimeSpan.FromMilliseconds(timeoutMs));
}
