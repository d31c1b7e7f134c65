using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;
using Serilog.Core;
using Serilog.Events;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// The completion line is encoded by the library itself when only its stdout sink would see the event, and goes
/// through Serilog's pipeline otherwise. Both must produce the same CLEF object, and the choice must never cost a
/// configured sink, enricher or level its effect.
/// </summary>
public sealed class CompletionLineTests
{
    /// <summary>Paths as the client sends them: quotes, backslashes, control characters, non-ASCII, an emoji, an empty segment.</summary>
    public static TheoryData<string> HostilePaths =>
    [
        "/api/items/42",
        "/echo/plain",
        "/echo/quote%22and%5Cbackslash",
        "/echo/ctl%01%1F%7Fnl%0Atab%09",
        "/echo/%E2%82%AC-%C3%A9-%F0%9F%98%80",
        "/echo/%3Cscript%3E%26amp;%27",
        "/missing/route//double",
    ];

    [Theory]
    [MemberData(nameof(HostilePaths))]
    public async Task Direct_line_and_serilog_event_are_the_same_clef_object(string path)
    {
        await using var direct = await StartAsync(forceSerilog: false);
        await using var serilog = await StartAsync(forceSerilog: true);
        Assert.True(direct.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);
        Assert.False(serilog.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);

        var fromDirect = await SendAsync(direct, path, "same-id-1");
        var fromSerilog = await SendAsync(serilog, path, "same-id-1");

        AssertSameEvent(fromSerilog, fromDirect);
        Assert.Equal(Uri.UnescapeDataString(path.Split('?')[0]), fromDirect.Str("RequestPath"));
    }

    [Fact]
    public async Task Error_status_user_and_trace_context_are_the_same_on_both_paths()
    {
        await using var direct = await StartAsync(forceSerilog: false);
        await using var serilog = await StartAsync(forceSerilog: true);

        foreach (var path in new[] { "/fail", "/api/items/7" })
        {
            var fromDirect = await SendAsync(direct, path, "err-1", authenticated: true);
            var fromSerilog = await SendAsync(serilog, path, "err-1", authenticated: true);

            AssertSameEvent(fromSerilog, fromDirect);
            Assert.Equal("user-42", fromDirect.Str("UserId"));
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", fromDirect.Str("@tr"));
            Assert.Equal(32, fromDirect.Str("@tr")!.Length);
            Assert.Equal(16, fromDirect.Str("@sp")!.Length);
        }

        Assert.Equal("Error", (await SendAsync(direct, "/fail", "err-2")).Level());
    }

    [Fact]
    public async Task Both_paths_write_only_the_fields_of_the_one_table_and_the_direct_path_in_its_order()
    {
        await using var direct = await StartAsync(forceSerilog: false, configuration: new Dictionary<string, string?> { ["Observability:Logging:IncludeClientIp"] = "true" });
        await using var serilog = await StartAsync(forceSerilog: true, configuration: new Dictionary<string, string?> { ["Observability:Logging:IncludeClientIp"] = "true" });
        var table = CompletionFields.All.Select(f => f.Name).ToList();

        var fromDirect = Names(await SendAsync(direct, "/api/items/3", "fields-1", authenticated: true));
        var fromSerilog = Names(await SendAsync(serilog, "/api/items/3", "fields-1", authenticated: true));

        Assert.Equal(table.Where(fromDirect.Contains), fromDirect);
        Assert.Empty(fromSerilog.Except(table));
        Assert.Contains("ClientIp", fromDirect);
        Assert.Contains("UserId", fromDirect);
        Assert.Contains("Route", fromDirect);

        static List<string> Names(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name).Where(n => !n.StartsWith('@'))];
    }

    [Fact]
    public async Task Timestamp_is_utc_round_trip_text()
    {
        await using var app = await StartAsync(forceSerilog: false);
        var before = DateTimeOffset.UtcNow;

        var e = await SendAsync(app, "/api/items/1", "time-1");

        var text = e.Str("@t")!;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$", text);
        var t = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(t, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Properties_from_the_serilog_section_reach_the_completion_event()
    {
        await using var app = await StartAsync(forceSerilog: false, new Dictionary<string, string?> { ["Serilog:Properties:Team"] = "payments" });

        Assert.False(app.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);
        var e = await SendAsync(app, "/api/items/1", "props-1");
        Assert.Equal("payments", e.Str("Team"));
    }

    [Fact]
    public async Task A_level_override_for_the_completion_event_is_honoured_on_the_direct_path()
    {
        await using var app = await StartAsync(forceSerilog: false, new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Override:Observability.AspNetCore.RequestLogging"] = "Warning",
        });

        Assert.True(app.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);
        using var ok = new HttpRequestMessage(HttpMethod.Get, "/api/items/1");
        ok.Headers.Add("X-Request-ID", "quiet-1");
        await app.Client.SendAsync(ok);

        // The 503 is an Error event, above the override: it is written, and the 200 before it is not.
        var failed = await SendAsync(app, "/fail", "loud-1");
        Assert.Equal("Error", failed.Level());
        Assert.DoesNotContain(app.Events(), e => e.Str("RequestId") == "quiet-1");
    }

    [Fact]
    public async Task Text_format_goes_through_serilog()
    {
        await using var app = await StartAsync(forceSerilog: false, new Dictionary<string, string?> { ["Observability:Logging:Format"] = "Text" });

        Assert.False(app.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/5");
        request.Headers.Add("X-Request-ID", "text-1");
        await app.Client.SendAsync(request);
        await Poll.UntilAsync(() => app.Output.Contains("GET /api/items/5 responded 200 in", StringComparison.Ordinal));
        Assert.Contains("text-1", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_longer_than_the_buffer_is_written_whole()
    {
        await using var app = await StartAsync(forceSerilog: false);
        var longSegment = new string('a', 40_000) + "%22" + new string('b', 40_000);

        var e = await SendAsync(app, "/echo/" + longSegment, "long-1");

        Assert.Equal(80_001 + "/echo/".Length, e.Str("RequestPath")!.Length);
        Assert.True(app.Output.Length > LogLineSink.ChunkSize);
    }

    [Fact]
    public async Task Buffered_lines_reach_stdout_within_the_flush_interval_in_few_writes()
    {
        var stdout = new CapturedLog();
        var app = await StartAsync(forceSerilog: false, configureBuilder: b => b.Services.AddSingleton(stdout.AsOutput(flushEachLine: false)));
        try
        {
            for (var i = 0; i < 40; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/items/{i}");
                request.Headers.Add("X-Request-ID", $"buffered-{i}");
                await app.Client.SendAsync(request);
            }

            await Poll.UntilAsync(() => CountCompletions(stdout, "buffered-") == 40);
            Assert.True(stdout.Writes < 40, $"40 lines took {stdout.Writes} writes; they should share writes.");

            // Lines logged just before shutdown are not lost: disposing the host writes out the buffer.
            for (var i = 0; i < 5; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/items/{i}");
                request.Headers.Add("X-Request-ID", $"last-{i}");
                await app.Client.SendAsync(request);
            }
        }
        finally
        {
            await app.DisposeAsync();
        }

        Assert.Equal(5, CountCompletions(stdout, "last-"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stdout_that_cannot_be_written_never_fails_a_request(bool closed)
    {
        var stdout = new BrokenStream(closed);
        await using var app = await StartAsync(forceSerilog: false, configureBuilder: b => b.Services.AddSingleton(new LogOutput(stdout, flushEachLine: true)));

        for (var i = 0; i < 3; i++)
        {
            var response = await app.Client.GetAsync($"/api/items/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.Contains("X-Request-ID"));
        }

        Assert.True(stdout.Attempts >= 3, "the lines were tried");
    }

    private static int CountCompletions(CapturedLog stdout, string idPrefix) =>
        stdout.Events().Count(e => e.IsCompletion() && e.Str("RequestId") is { } id && id.StartsWith(idPrefix, StringComparison.Ordinal));

    private static Task<TestApp> StartAsync(bool forceSerilog, IDictionary<string, string?>? configuration = null, Action<WebApplicationBuilder>? configureBuilder = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.MapGet("/api/items/{id:int}", (int id) => new { id });
                app.MapGet("/echo/{*rest}", (string rest) => rest.Length);
                app.MapGet("/fail", () => Results.StatusCode(503));
            },
            configuration,
            configureBuilder: b =>
            {
                b.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, CompletionEventTests.TestAuthHandler>("Test", null);
                if (forceSerilog)
                {
                    // Any registered sink must see every event, so the library then builds every event as a LogEvent.
                    b.Services.AddSingleton<ILogEventSink>(new DiscardingSink());
                }

                configureBuilder?.Invoke(b);
            },
            beforeObservability: a => a.Use((HttpContext ctx, RequestDelegate next) =>
            {
                ctx.Connection.RemoteIpAddress = IPAddress.Parse("2001:db8::7");
                return next(ctx);
            }),
            afterObservability: a => a.UseWhen(ctx => ctx.Request.Headers.ContainsKey("X-Authenticate"), b => b.UseAuthentication()));

    private static async Task<JsonElement> SendAsync(TestApp app, string path, string requestId, bool authenticated = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Request-ID", requestId);
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        if (authenticated)
        {
            request.Headers.Add("X-Authenticate", "1");
        }

        await app.Client.SendAsync(request);
        return (await app.WaitForEventsAsync(e => e.IsCompletion() && e.Str("RequestId") == requestId)).Last();
    }

    /// <summary>Every property but the ones that differ between two requests by nature (time, duration, span).</summary>
    private static void AssertSameEvent(JsonElement expected, JsonElement actual)
    {
        static Dictionary<string, string> Comparable(JsonElement e) => e.EnumerateObject()
            .Where(p => p.Name is not ("@t" or "Elapsed" or "@sp"))
            .ToDictionary(p => p.Name, p => p.Value.GetRawText() is var raw && p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : raw);

        Assert.Equal(Comparable(expected).OrderBy(p => p.Key), Comparable(actual).OrderBy(p => p.Key));
        Assert.Equal(JsonValueKind.Number, actual.GetProperty("Elapsed").ValueKind);
    }

    /// <summary>stdout as a full disk (IOException) or a closed descriptor (ObjectDisposedException) shows it.</summary>
    private sealed class BrokenStream(bool closed) : Stream
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Interlocked.Increment(ref _attempts);
            throw closed ? new ObjectDisposedException("stdout") : new IOException("No space left on device");
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class DiscardingSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
        }
    }
}
