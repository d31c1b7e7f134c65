using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>
/// An in-process app with the two lines, on a TestServer, whose stdout log stream is captured so tests read exactly
/// the JSON lines a user's log shipper would read.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    private readonly CapturedLog _output;

    private TestApp(WebApplication app, CapturedLog output)
    {
        App = app;
        _output = output;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public TestServer Server => (TestServer)App.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>();

    public string Output => _output.ToString();

    public static async Task<TestApp> StartAsync(
        Action<WebApplication> map,
        IDictionary<string, string?>? configuration = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<ObservabilityOptions>? configure = null,
        Action<WebApplication>? beforeObservability = null,
        Action<WebApplication>? afterObservability = null)
    {
        var builder = CreateBuilder(configuration);
        var output = new CapturedLog();
        builder.Services.AddSingleton(output.AsOutput());
        builder.AddObservability(configure);
        configureBuilder?.Invoke(builder);
        var app = builder.Build();
        beforeObservability?.Invoke(app);
        app.UseObservability();
        afterObservability?.Invoke(app);
        map(app);
        await app.StartAsync();
        return new TestApp(app, output);
    }

    public static WebApplicationBuilder CreateBuilder(IDictionary<string, string?>? configuration = null) =>
        TestHost.CreateBuilder(typeof(TestApp).Assembly, configuration);

    /// <summary>
    /// What building, wiring and starting an app with this configuration throws (null when it starts): where startup
    /// validation reports a bad setting.
    /// </summary>
    public static Exception? StartupError(
        IDictionary<string, string?> configuration,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? map = null)
    {
        var builder = CreateBuilder(configuration);
        builder.AddObservability();
        configureBuilder?.Invoke(builder);
        return Record.Exception(() =>
        {
            using var app = builder.Build();
            app.UseObservability();
            map?.Invoke(app);
            app.StartAsync().GetAwaiter().GetResult();
            app.StopAsync().GetAwaiter().GetResult();
        });
    }

    /// <summary>Every stdout line parsed as JSON; fails the test on a line that is not a JSON object.</summary>
    public IReadOnlyList<JsonElement> Events() => _output.Events();

    /// <summary>
    /// The completion event is written after the response has gone out, so a test polls for it (bounded) instead of
    /// reading the log right after the response arrives.
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForEventsAsync(Func<JsonElement, bool> predicate, int count = 1) =>
        await Poll.UntilAsync(
            () => Events().Where(predicate).ToList(),
            matches => matches.Count >= count,
            matches => $"Expected {count} matching events, found {matches.Count}. Output:\n{Output}");

    public Task<JsonElement> CompletionEventAsync(string requestId) =>
        WaitForEventsAsync(e => e.IsCompletion() && e.Str("RequestId") == requestId).ContinueWith(t => t.Result.Single(), TaskScheduler.Default);

    public ValueTask DisposeAsync() => TestHost.StopAsync(App, Client);
}

/// <summary>
/// The bytes the library writes to "stdout", decoded as UTF-8 as a log shipper would; lines are written through as they
/// are logged (<see cref="LogOutput.FlushEachLine"/>) so a test reads them without waiting for the flush timer.
/// </summary>
internal sealed class CapturedLog : Stream
{
    private readonly Lock _sync = new();
    private readonly System.Text.StringBuilder _text = new();
    private readonly System.Text.Decoder _decoder = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();

    /// <summary>Every raw write, for tests about how lines leave the process.</summary>
    public int Writes { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public LogOutput AsOutput(bool flushEachLine = true) => new(this, flushEachLine);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_sync)
        {
            Writes++;
            var chars = new char[_decoder.GetCharCount(buffer, flush: false)];
            _decoder.GetChars(buffer, chars, flush: false);
            _text.Append(chars);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override string ToString()
    {
        lock (_sync)
        {
            return _text.ToString();
        }
    }

    /// <summary>Every whole line parsed as JSON (a line being written right now is left out); fails on a line that is not a JSON object.</summary>
    public IReadOnlyList<JsonElement> Events()
    {
        var output = ToString();
        var complete = output[..(output.LastIndexOf('\n') + 1)];
        var events = new List<JsonElement>();
        foreach (var line in complete.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            events.Add(doc.RootElement.Clone());
        }

        return events;
    }
}
