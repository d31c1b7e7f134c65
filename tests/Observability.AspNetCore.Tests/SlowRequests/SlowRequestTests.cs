using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.SlowRequests;

public sealed class SlowRequestTests
{
    private static bool IsSlowWarning(JsonElement e) => e.Str("@mt")?.Contains("Slow request", StringComparison.Ordinal) == true;

    private static bool IsHungWarning(JsonElement e) => e.Str("@mt")?.Contains("still running", StringComparison.Ordinal) == true;

    private static Task<TestApp> StartAsync(Dictionary<string, string?>? configuration = null, Action<WebApplication>? map = null)
    {
        var settings = new Dictionary<string, string?> { ["Observability:SlowRequests:ThresholdMs"] = "150" };
        foreach (var (k, v) in configuration ?? [])
        {
            settings[k] = v;
        }

        return TestApp.StartAsync(
            app =>
            {
                app.MapGet("/api/wait/{ms:int}", async (int ms, HttpContext ctx) =>
                {
                    await Task.Delay(ms, ctx.RequestAborted);
                    return "done";
                });
                map?.Invoke(app);
            },
            settings);
    }

    private static async Task<string> GetIdAsync(TestApp app, string path)
    {
        var response = await app.Client.GetAsync(path);
        return response.Headers.GetValues("X-Request-ID").Single();
    }

    [Fact]
    public async Task Slow_request_above_threshold_logs_one_warning_with_its_route_and_request_id()
    {
        await using var app = await StartAsync();

        var id = await GetIdAsync(app, "/api/wait/400");
        await app.CompletionEventAsync(id);

        var warning = Assert.Single(app.Events(), IsSlowWarning);
        Assert.Equal("Warning", warning.Level());
        Assert.Equal(id, warning.Str("RequestId"));
        Assert.Equal("GET", warning.Str("RequestMethod"));
        Assert.Equal("/api/wait/400", warning.Str("RequestPath"));
        Assert.Equal("/api/wait/{ms:int}", warning.Str("Route"));
        Assert.Equal(200, warning.GetProperty("StatusCode").GetInt32());
        // Task.Delay may wake a hair early by the stopwatch; what matters is that Elapsed is the request's real duration.
        Assert.True(warning.GetProperty("Elapsed").GetDouble() >= 390);
        Assert.Equal(150, warning.GetProperty("ThresholdMs").GetInt32());
        Assert.Equal(1200, warning.GetProperty("EventId").GetProperty("Id").GetInt32());
    }

    [Fact]
    public async Task Slow_request_increments_the_slow_request_counter()
    {
        await using var app = await StartAsync();

        await GetIdAsync(app, "/api/wait/300");
        await GetIdAsync(app, "/api/wait/1");
        await app.WaitForEventsAsync(e => e.IsCompletion(), 2);

        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        Assert.Equal(1, samples.Value("http_slow_requests_total", ("method", "GET"), ("endpoint", "/api/wait/{ms:int}")));
    }

    [Fact]
    public async Task Fast_request_writes_no_slow_warning()
    {
        await using var app = await StartAsync();

        var id = await GetIdAsync(app, "/api/wait/1");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task Threshold_zero_disables_the_check()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowRequests:ThresholdMs"] = "0" });

        var id = await GetIdAsync(app, "/api/wait/300");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task WithSlowRequestThreshold_overrides_the_global_threshold_of_an_endpoint()
    {
        await using var app = await StartAsync(map: a =>
        {
            a.MapGet("/strict", async () =>
            {
                await Task.Delay(80);
                return "ok";
            }).WithSlowRequestThreshold(TimeSpan.FromMilliseconds(20));
            a.MapGet("/lenient", async () =>
            {
                await Task.Delay(300);
                return "ok";
            }).WithSlowRequestThreshold(TimeSpan.FromSeconds(5));
        });

        var strict = await GetIdAsync(app, "/strict");
        var lenient = await GetIdAsync(app, "/lenient");
        await app.CompletionEventAsync(lenient);
        await app.CompletionEventAsync(strict);

        var warning = Assert.Single(app.Events(), IsSlowWarning);
        Assert.Equal(strict, warning.Str("RequestId"));
        Assert.Equal(20, warning.GetProperty("ThresholdMs").GetInt32());
    }

    [Fact]
    public async Task WithSlowRequestThreshold_on_a_route_group_applies_to_its_endpoints()
    {
        await using var app = await StartAsync(map: a =>
        {
            var group = a.MapGroup("/stream").WithSlowRequestThreshold(TimeSpan.Zero);
            group.MapGet("/poll", async () =>
            {
                await Task.Delay(300);
                return "ok";
            });
        });

        var id = await GetIdAsync(app, "/stream/poll");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task Attribute_on_a_handler_overrides_the_threshold()
    {
        await using var app = await StartAsync(map: a => a.MapGet("/attributed", [SlowRequestThreshold(10)] async () =>
        {
            await Task.Delay(60);
            return "ok";
        }));

        var id = await GetIdAsync(app, "/attributed");
        await app.CompletionEventAsync(id);

        Assert.Equal(10, Assert.Single(app.Events(), IsSlowWarning).GetProperty("ThresholdMs").GetInt32());
    }

    [Fact]
    public async Task Configured_route_list_overrides_the_threshold_of_a_route_template()
    {
        await using var app = await StartAsync(new()
        {
            ["Observability:SlowRequests:Routes:0:Route"] = "/api/wait/{ms:int}",
            ["Observability:SlowRequests:Routes:0:ThresholdMs"] = "2000",
        });

        var id = await GetIdAsync(app, "/api/wait/300");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task Warnings_are_capped_per_second_and_the_excess_is_summarised_and_still_counted()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowRequests:MaxWarningsPerSecond"] = "3" });

        var requests = Enumerable.Range(0, 12).Select(_ => app.Client.GetAsync("/api/wait/200")).ToArray();
        await Task.WhenAll(requests);
        await app.WaitForEventsAsync(e => e.IsCompletion(), 12);
        var summary = (await app.WaitForEventsAsync(e => e.Str("@mt")?.StartsWith("Suppressed", StringComparison.Ordinal) == true)).Single();

        var warnings = app.Events().Where(IsSlowWarning).ToList();
        Assert.InRange(warnings.Count, 3, 6); // the 12 may straddle a second boundary: at most 3 per second
        Assert.Equal(12 - warnings.Count, app.Events().Where(e => e.Has("SuppressedCount")).Sum(e => e.GetProperty("SuppressedCount").GetInt64()));
        Assert.Equal("Warning", summary.Level());
        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        Assert.Equal(12, samples.Value("http_slow_requests_total"));
    }

    [Fact]
    public async Task Warning_cap_holds_over_any_one_second_also_across_a_second_boundary()
    {
        await using var app = await StartAsync(new()
        {
            ["Observability:SlowRequests:ThresholdMs"] = "10",
            ["Observability:SlowRequests:MaxWarningsPerSecond"] = "3",
        });
        await app.Client.GetStringAsync("/metrics"); // warms the pipeline up; not a slow request (own endpoint)

        // One burst late in a second of the monotonic clock and one just after it ends: a per-calendar-second cap lets
        // 3 + 3 warnings through within ~0.3 s. Each wait is bounded (at most ~2 s).
        await UntilSecondFractionAsync(0.7, 0.8);
        var first = Enumerable.Range(0, 6).Select(_ => app.Client.GetAsync("/api/wait/50")).ToArray();
        await UntilSecondFractionAsync(0.0, 0.1);
        var second = Enumerable.Range(0, 6).Select(_ => app.Client.GetAsync("/api/wait/50")).ToArray();
        await Task.WhenAll(first.Concat(second));
        await app.WaitForEventsAsync(e => e.IsCompletion() && e.Str("RequestPath") == "/api/wait/50", 12);

        var times = app.Events().Where(IsSlowWarning)
            .Select(e => DateTimeOffset.Parse(e.Str("@t")!, CultureInfo.InvariantCulture)).Order().ToList();
        Assert.InRange(times.Count, 3, 6);
        for (var i = 3; i < times.Count; i++)
        {
            // 1 s by the budget's clock; the slack covers the few ms between taking a warning and stamping its event.
            Assert.True(times[i] - times[i - 3] >= TimeSpan.FromMilliseconds(900), $"4 warnings within {(times[i] - times[i - 3]).TotalMilliseconds} ms:\n{app.Output}");
        }

        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        Assert.Equal(12, samples.Value("http_slow_requests_total"));
    }

    /// <summary>Waits until the fraction of the current second (Stopwatch seconds, the budget's clock) is in [from, to).</summary>
    private static async Task UntilSecondFractionAsync(double from, double to)
    {
        var deadline = Stopwatch.GetTimestamp() + (2 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var fraction = (double)(Stopwatch.GetTimestamp() % Stopwatch.Frequency) / Stopwatch.Frequency;
            if (fraction >= from && fraction < to)
            {
                return;
            }

            await Task.Delay(5);
        }

        Assert.Fail($"The second's fraction was never in [{from}, {to}) within 2 s");
    }

    [Fact]
    public async Task Hung_request_is_reported_once_while_it_is_still_running()
    {
        await using var app = await StartAsync(new()
        {
            ["Observability:SlowRequests:ThresholdMs"] = "10000",
            ["Observability:SlowRequests:HungAfterMs"] = "300",
        });
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/wait/3000");
        request.Headers.Add("X-Request-ID", "hung-1");
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        var running = app.Client.SendAsync(request);
        var hung = (await app.WaitForEventsAsync(IsHungWarning)).Single();

        Assert.False(running.IsCompleted, "the warning must come while the request still runs");
        Assert.Equal("hung-1", hung.Str("RequestId"));
        Assert.Equal("/api/wait/{ms:int}", hung.Str("Route"));
        Assert.Equal("/api/wait/3000", hung.Str("RequestPath"));
        Assert.True(hung.GetProperty("Elapsed").GetDouble() >= 300);
        await running;
        var completion = await app.CompletionEventAsync("hung-1");
        Assert.Single(app.Events(), IsHungWarning);

        // Written from the watchdog's timer, yet in the request's trace and span, like the request's other events.
        Assert.Equal(traceId, hung.Str("@tr"));
        Assert.Equal(completion.Str("@sp"), hung.Str("@sp"));
        Assert.NotNull(hung.Str("@sp"));
    }

    [Fact]
    public async Task Hung_detection_can_be_turned_off()
    {
        await using var app = await StartAsync(new()
        {
            ["Observability:SlowRequests:ThresholdMs"] = "10000",
            ["Observability:SlowRequests:HungAfterMs"] = "0",
        });

        var id = await GetIdAsync(app, "/api/wait/1600");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsHungWarning);
    }

    [Fact]
    public async Task Server_sent_events_are_never_slow_or_hung()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowRequests:HungAfterMs"] = "200" }, a => a.MapGet("/events", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            for (var i = 0; i < 4; i++)
            {
                await ctx.Response.WriteAsync($"data: {i}\n\n");
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(150);
            }
        }));

        var id = await GetIdAsync(app, "/events");
        await app.CompletionEventAsync(id);

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
        Assert.DoesNotContain(app.Events(), IsHungWarning);
    }

    [Fact]
    public async Task Response_started_as_an_event_stream_is_never_hung_though_the_client_sent_no_Accept()
    {
        // Streams for 1.5 s: the once-a-second hung scan sees it at least once past 300 ms.
        await using var app = await StartAsync(new() { ["Observability:SlowRequests:HungAfterMs"] = "300" }, a => a.MapGet("/stream", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            for (var i = 0; i < 10; i++)
            {
                await ctx.Response.WriteAsync($"data: {i}\n\n");
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(150);
            }
        }));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/stream");
        request.Headers.Add("X-Request-ID", "sse-no-accept");

        using var response = await app.Client.SendAsync(request);
        await app.CompletionEventAsync("sse-no-accept");

        Assert.Empty(request.Headers.Accept);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(app.Events(), IsHungWarning);
        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task WebSocket_requests_are_never_slow_or_hung()
    {
        await using var app = await StartAsync(new() { ["Observability:SlowRequests:HungAfterMs"] = "200" }, a =>
        {
            a.UseWebSockets();
            a.Map("/ws", async (HttpContext ctx) =>
            {
                using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
                await Task.Delay(700);
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            });
        });

        var client = app.Server.CreateWebSocketClient();
        using var socket = await client.ConnectAsync(new Uri(app.Server.BaseAddress, "ws"), CancellationToken.None);
        var buffer = new byte[16];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await app.WaitForEventsAsync(e => e.IsCompletion() && e.Str("RequestPath") == "/ws");

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.DoesNotContain(app.Events(), IsSlowWarning);
        Assert.DoesNotContain(app.Events(), IsHungWarning);
    }

    [Fact]
    public async Task Request_aborted_by_the_client_is_not_reported_as_slow()
    {
        await using var app = await StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/wait/5000");
        request.Headers.Add("X-Request-ID", "aborted-slow");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => app.Client.SendAsync(request, cts.Token));
        await app.CompletionEventAsync("aborted-slow");

        Assert.DoesNotContain(app.Events(), IsSlowWarning);
    }

    [Fact]
    public async Task X_Response_Time_is_set_on_error_responses_too()
    {
        await using var app = await StartAsync(map: a => a.MapGet("/boom", string () => throw new InvalidOperationException("x")));

        var response = await app.Client.GetAsync("/boom");

        Assert.Equal(500, (int)response.StatusCode);
        Assert.Matches(@"^\d+(\.\d{1,2})?ms$", response.Headers.GetValues("X-Response-Time").Single());
    }

    [Fact]
    public void WithSlowRequestThreshold_rejects_a_negative_threshold_at_the_call_site()
    {
        var app = TestApp.CreateBuilder().Build();

        Assert.Throws<ArgumentOutOfRangeException>(() => app.MapGet("/x", () => "x").WithSlowRequestThreshold(TimeSpan.FromMilliseconds(-1)));
    }

    [Fact]
    public void Attribute_rejects_a_negative_threshold()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlowRequestThresholdAttribute(-5));
    }

    [Theory]
    [InlineData("Observability:SlowRequests:ThresholdMs", "-1", "Observability:SlowRequests:ThresholdMs must be >= 0 (0 disables); was -1.")]
    [InlineData("Observability:SlowRequests:HungAfterMs", "-10", "Observability:SlowRequests:HungAfterMs must be >= 0 (0 disables); was -10.")]
    [InlineData("Observability:SlowRequests:MaxWarningsPerSecond", "0", "Observability:SlowRequests:MaxWarningsPerSecond must be between 1 and 65536; was 0.")]
    [InlineData("Observability:SlowRequests:MaxWarningsPerSecond", "65537", "Observability:SlowRequests:MaxWarningsPerSecond must be between 1 and 65536; was 65537.")]
    [InlineData("Observability:SlowRequests:Routes:0:ThresholdMs", "-3", "Observability:SlowRequests:Routes:0:ThresholdMs must be >= 0 (0 disables); was -3.")]
    public void Bad_slow_request_setting_stops_startup_naming_key_and_value(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.Contains("Routes", StringComparison.Ordinal))
        {
            settings["Observability:SlowRequests:Routes:0:Route"] = "/x";
        }

        var builder = TestApp.CreateBuilder(settings);
        builder.AddObservability();

        var ex = Record.Exception(() => builder.Build().UseObservability());

        Assert.Contains(expected, Assert.IsType<OptionsValidationException>(ex).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_entries_for_one_route_stop_startup_naming_both()
    {
        // The last entry silently won: a 5 ms threshold written first was never in force.
        var builder = TestApp.CreateBuilder(new Dictionary<string, string?>
        {
            ["Observability:SlowRequests:Routes:0:Route"] = "/slow",
            ["Observability:SlowRequests:Routes:0:ThresholdMs"] = "5",
            ["Observability:SlowRequests:Routes:1:Route"] = "/slow",
            ["Observability:SlowRequests:Routes:1:ThresholdMs"] = "50000",
        });
        builder.AddObservability();

        var ex = Record.Exception(() => builder.Build().UseObservability());

        Assert.Contains(
            "Observability:SlowRequests:Routes:1:Route is '/slow', already given at Observability:SlowRequests:Routes:0:Route",
            Assert.IsType<OptionsValidationException>(ex).Message,
            StringComparison.Ordinal);
    }
}
