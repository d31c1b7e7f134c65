using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Health;

public sealed class HealthLifecycleTests
{
    [Fact]
    public async Task Ready_is_503_starting_until_the_host_has_started_while_live_is_200()
    {
        var gate = new StartedGate();
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?> { ["Observability:Health:PublishIntervalMs"] = "0" });
        builder.Services.AddSingleton(new LogOutputHolder().Output);
        builder.AddObservability();
        builder.Services.AddSingleton<IHostedService>(gate);
        await using var app = builder.Build();
        app.UseObservability();

        // StartedAsync runs after the server has started and before ApplicationStarted: the window a real app has while
        // its last hosted services finish starting.
        var starting = app.StartAsync();
        await gate.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var client = app.GetTestClient();

        var ready = await client.GetAsync("/health/ready");
        var live = await client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("""{"status":"Unhealthy","reason":"starting","checks":{}}""", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        gate.Release.SetResult();
        await starting;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Ready_turns_503_as_soon_as_shutdown_begins_while_live_and_health_stay_200()
    {
        await using var app = await HealthTestApp.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/ready")).Status);

        app.App.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        var ready = await app.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal("stopping", ready.Body.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health/live")).Status);
        Assert.Equal(HttpStatusCode.OK, (await app.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task Shutdown_delay_keeps_serving_requests_with_ready_503_before_the_host_stops()
    {
        await using var app = await HealthTestApp.StartAsync(configuration: new Dictionary<string, string?> { ["Observability:Health:ShutdownDelayMs"] = "2500" });
        var started = Stopwatch.GetTimestamp();

        var stopping = app.App.StopAsync();
        var ready = await app.GetAsync("/health/ready");
        await Task.Delay(500);
        var api = await app.Client.GetAsync("/api/ping");
        var readyLater = await app.GetAsync("/health/ready");
        Assert.False(stopping.IsCompleted, $"the host stopped {Stopwatch.GetElapsedTime(started).TotalMilliseconds} ms after StopAsync, before the drain delay was over");
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        var stoppedAfter = Stopwatch.GetElapsedTime(started);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal("stopping", ready.Body.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyLater.Status);
        Assert.True(stoppedAfter >= TimeSpan.FromMilliseconds(2400), $"stopped after {stoppedAfter.TotalMilliseconds} ms");
        var drain = await app.WaitForEventsAsync(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == 1403);
        Assert.Equal(2500, drain.Single().GetProperty("DelayMs").GetInt32());
    }

    private sealed class StartedGate : IHostedLifecycleService
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task StartedAsync(CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            return Release.Task;
        }

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Keeps the log lines of this hand-built app out of the test output.</summary>
    private sealed class LogOutputHolder
    {
        public Observability.AspNetCore.Logging.LogOutput Output { get; } = new CapturedLog().AsOutput();
    }
}
