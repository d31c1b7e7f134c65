using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Grpc;

/// <summary>
/// Slow- and hung-request detection against a real Grpc.AspNetCore service (the library recognises gRPC streaming
/// methods by reflection, without a dependency on Grpc.AspNetCore). Streaming calls stay open past both thresholds and
/// must produce neither warning; unary calls are watched like any other request.
/// </summary>
public sealed class GrpcStreamingTests
{
    private const string WaitRoute = "/obs.test.Ticker/Wait";
    private const string HoldRoute = "/obs.test.Ticker/Hold";
    private const string SubscribeRoute = "/obs.test.Ticker/Subscribe";
    private const string EchoRoute = "/obs.test.Ticker/Echo";

    private static bool IsSlowWarning(JsonElement e) => e.Str("@mt")?.Contains("Slow request", StringComparison.Ordinal) == true;

    private static bool IsHungWarning(JsonElement e) => e.Str("@mt")?.Contains("still running", StringComparison.Ordinal) == true;

    private static Task<TestApp> StartAsync() =>
        TestApp.StartAsync(
            app => app.MapGrpcService<TickerService>(),
            new Dictionary<string, string?>
            {
                ["Observability:SlowRequests:ThresholdMs"] = "100",
                ["Observability:SlowRequests:HungAfterMs"] = "300",
            },
            builder =>
            {
                builder.Services.AddGrpc();
                builder.Services.AddSingleton<Gate>();
            });

    // TestServer speaks to the client in process; gRPC over it needs no HTTP/2 connection or TLS.
    private static GrpcChannel ChannelFor(TestApp app) =>
        GrpcChannel.ForAddress(app.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = app.Server.CreateHandler() });

    // Every call carries its request id and a deadline, so no read or write of a test can wait unbounded.
    private static CallOptions Call(string requestId) =>
        new(headers: new Metadata { { "X-Request-ID", requestId } }, deadline: DateTime.UtcNow.AddSeconds(20));

    /// <summary>
    /// Starts a unary call that answers only when the gate opens and waits for its hung warning. Once that warning is in
    /// the log, the monitor has run a pass after HungAfterMs while every call started before it was still open, so a
    /// streaming call that is not reported by then never will be: the test proves the exclusion without sleeping.
    /// </summary>
    private static async Task<AsyncUnaryCall<Tick>> HoldUntilHungAsync(TestApp app, Ticker.TickerClient client, string requestId)
    {
        var held = client.HoldAsync(new HoldRequest(), Call(requestId));
        await app.WaitForEventsAsync(e => IsHungWarning(e) && e.Str("RequestId") == requestId);
        Assert.False(held.ResponseAsync.IsCompleted, "the control call must still be running when its hung warning comes");
        return held;
    }

    private static async Task<JsonElement> SingleCompletionAsync(TestApp app, string requestId, string route)
    {
        await app.CompletionEventAsync(requestId);
        var completion = Assert.Single(app.Events(), e => e.IsCompletion() && e.Str("RequestId") == requestId);
        Assert.Equal("POST", completion.Str("RequestMethod"));
        Assert.Equal(route, completion.Str("RequestPath"));
        Assert.Equal(route, completion.Str("Route"));
        Assert.Equal(200, completion.GetProperty("StatusCode").GetInt32());
        return completion;
    }

    /// <summary>Every slow or hung warning in the log is the control call's: nothing about the streaming call.</summary>
    private static void AssertOnlyControlCallWarned(TestApp app, string streamRoute)
    {
        var warnings = app.Events().Where(e => IsSlowWarning(e) || IsHungWarning(e)).ToList();
        Assert.DoesNotContain(warnings, w => w.Str("Route") == streamRoute || w.Str("RequestPath") == streamRoute);
        Assert.All(warnings, w => Assert.Equal(HoldRoute, w.Str("Route")));
        Assert.Single(warnings, IsHungWarning);
        Assert.Single(warnings, IsSlowWarning);
    }

    private static async Task<IReadOnlyList<Sample>> ScrapeAsync(TestApp app) =>
        Exposition.Parse(await app.Client.GetStringAsync("/metrics"));

    /// <summary>
    /// What a streaming call held open past both thresholds (alongside the hung control call) must leave behind: one
    /// completion event that shows it was open that long, no warning about it, counted once and never as slow.
    /// </summary>
    private static async Task<IReadOnlyList<Sample>> AssertStreamingCallNeitherSlowNorHungAsync(TestApp app, string requestId, string route)
    {
        var completion = await SingleCompletionAsync(app, requestId, route);
        await SingleCompletionAsync(app, "grpc-held", HoldRoute);
        // Not a speed check: it started before the control call, which ran past HungAfterMs, so it was open at least that long.
        Assert.True(completion.GetProperty("Elapsed").GetDouble() >= 300);
        AssertOnlyControlCallWarned(app, route);
        var samples = await ScrapeAsync(app);
        Assert.Equal(1, samples.Value("http_requests_total", ("method", "POST"), ("endpoint", route)));
        Assert.Equal(0, samples.Value("http_slow_requests_total", ("endpoint", route)));
        Assert.Equal(1, samples.Value("http_slow_requests_total"));
        return samples;
    }

    [Fact]
    public async Task Server_streaming_call_open_past_both_thresholds_is_neither_slow_nor_hung()
    {
        await using var app = await StartAsync();
        using var channel = ChannelFor(app);
        var client = new Ticker.TickerClient(channel);

        using var stream = client.Subscribe(new HoldRequest(), Call("grpc-subscribe"));
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None), "the first tick arrives while the stream stays open");
        using var held = await HoldUntilHungAsync(app, client, "grpc-held");
        app.App.Services.GetRequiredService<Gate>().Open();
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(1, stream.ResponseStream.Current.Sequence);
        Assert.False(await stream.ResponseStream.MoveNext(CancellationToken.None));
        await held.ResponseAsync;

        var samples = await AssertStreamingCallNeitherSlowNorHungAsync(app, "grpc-subscribe", SubscribeRoute);
        Assert.Equal(1, samples.Value("http_slow_requests_total", ("method", "POST"), ("endpoint", HoldRoute)));
    }

    [Fact]
    public async Task Bidirectional_streaming_call_open_past_both_thresholds_is_neither_slow_nor_hung()
    {
        await using var app = await StartAsync();
        using var channel = ChannelFor(app);
        var client = new Ticker.TickerClient(channel);

        using var echo = client.Echo(Call("grpc-echo"));
        await echo.RequestStream.WriteAsync(new Tick { Sequence = 1 });
        Assert.True(await echo.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(1, echo.ResponseStream.Current.Sequence);
        using var held = await HoldUntilHungAsync(app, client, "grpc-held");
        await echo.RequestStream.WriteAsync(new Tick { Sequence = 2 });
        Assert.True(await echo.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(2, echo.ResponseStream.Current.Sequence);
        await echo.RequestStream.CompleteAsync();
        Assert.False(await echo.ResponseStream.MoveNext(CancellationToken.None));
        app.App.Services.GetRequiredService<Gate>().Open();
        await held.ResponseAsync;

        await AssertStreamingCallNeitherSlowNorHungAsync(app, "grpc-echo", EchoRoute);
    }

    [Fact]
    public async Task Slow_unary_call_logs_one_slow_warning_with_its_grpc_route_and_is_counted()
    {
        await using var app = await StartAsync();
        using var channel = ChannelFor(app);
        var client = new Ticker.TickerClient(channel);

        await client.WaitAsync(new WaitRequest { DelayMs = 400 }, Call("grpc-slow"));
        await client.WaitAsync(new WaitRequest { DelayMs = 0 }, Call("grpc-fast"));

        await SingleCompletionAsync(app, "grpc-slow", WaitRoute);
        await SingleCompletionAsync(app, "grpc-fast", WaitRoute);
        var warning = Assert.Single(app.Events(), IsSlowWarning);
        Assert.Equal("Warning", warning.Level());
        Assert.Equal(1200, warning.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.Equal("grpc-slow", warning.Str("RequestId"));
        Assert.Equal("POST", warning.Str("RequestMethod"));
        Assert.Equal(WaitRoute, warning.Str("RequestPath"));
        Assert.Equal(WaitRoute, warning.Str("Route"));
        Assert.Equal(200, warning.GetProperty("StatusCode").GetInt32());
        Assert.Equal(100, warning.GetProperty("ThresholdMs").GetInt32());
        var samples = await ScrapeAsync(app);
        Assert.Equal(2, samples.Value("http_requests_total", ("method", "POST"), ("endpoint", WaitRoute)));
        Assert.Equal(1, samples.Value("http_slow_requests_total", ("method", "POST"), ("endpoint", WaitRoute)));
    }

    /// <summary>Lets a test decide when held calls answer; bounded, so a broken test fails instead of hanging.</summary>
    internal sealed class Gate
    {
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _opened.TrySetResult();

        public Task WaitAsync(CancellationToken cancellationToken) => _opened.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }

    internal sealed class TickerService(Gate gate) : Ticker.TickerBase
    {
        public override async Task<Tick> Wait(WaitRequest request, ServerCallContext context)
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
            return new Tick { Sequence = 1 };
        }

        public override async Task<Tick> Hold(HoldRequest request, ServerCallContext context)
        {
            await gate.WaitAsync(context.CancellationToken);
            return new Tick { Sequence = 1 };
        }

        public override async Task Subscribe(HoldRequest request, IServerStreamWriter<Tick> responseStream, ServerCallContext context)
        {
            await responseStream.WriteAsync(new Tick { Sequence = 0 });
            await gate.WaitAsync(context.CancellationToken);
            await responseStream.WriteAsync(new Tick { Sequence = 1 });
        }

        public override async Task Echo(IAsyncStreamReader<Tick> requestStream, IServerStreamWriter<Tick> responseStream, ServerCallContext context)
        {
            await foreach (var tick in requestStream.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(tick);
            }
        }
    }
}
