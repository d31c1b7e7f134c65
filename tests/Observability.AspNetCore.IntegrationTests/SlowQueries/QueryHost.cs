using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Tests.Support;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Observability.AspNetCore.IntegrationTests.SlowQueries;

/// <summary>
/// An in-process app with the two lines, on a TestServer, whose log events are also written as CLEF JSON lines (the
/// formatter of the stdout stream) to a sink the test reads, so tests parse exactly what a log shipper would parse.
/// The app's own data access (an EF Core context, an <c>NpgsqlDataSource</c>) is registered by the test, before or
/// after <c>AddObservability()</c>.
/// </summary>
internal sealed class QueryHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ClefSink _sink;

    private QueryHost(WebApplication app, ClefSink sink)
    {
        _app = app;
        _sink = sink;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public string Output => _sink.Text;

    public static async Task<QueryHost> StartAsync(
        Action<WebApplicationBuilder> addData,
        Action<WebApplication> map,
        IDictionary<string, string?>? configuration = null,
        bool dataBeforeObservability = false)
    {
        var builder = TestHost.CreateBuilder(
            typeof(QueryHost).Assembly,
            TestHost.Settings(
                new Dictionary<string, string?>
                {
                    ["Observability:SlowQueries:ThresholdMs"] = "200",
                    ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Warning",
                },
                configuration));
        var sink = new ClefSink();
        builder.Services.AddSingleton<ILogEventSink>(sink);
        if (dataBeforeObservability)
        {
            addData(builder);
            builder.AddObservability();
        }
        else
        {
            builder.AddObservability();
            addData(builder);
        }

        var app = builder.Build();
        app.UseObservability();
        map(app);
        await app.StartAsync();
        return new QueryHost(app, sink);
    }

    public IReadOnlyList<JsonElement> Events()
    {
        var events = new List<JsonElement>();
        foreach (var line in _sink.Lines())
        {
            using var doc = JsonDocument.Parse(line);
            events.Add(doc.RootElement.Clone());
        }

        return events;
    }

    /// <summary>Sends GET; returns the request ID once the request's completion event is written.</summary>
    public async Task<string> GetAsync(string path)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{Output}");
        var id = response.Headers.GetValues("X-Request-ID").Single();
        await CompletionEventAsync(id);
        return id;
    }

    public async Task<JsonElement> CompletionEventAsync(string requestId)
    {
        var matches = await Poll.UntilAsync(
            () => Events().Where(e => e.IsCompletion() && e.Str("RequestId") == requestId).ToList(),
            found => found.Count > 0,
            found => $"Expected one completion event for {requestId}, found {found.Count}.\n{Output}");
        Assert.True(matches.Count == 1, $"Expected one completion event for {requestId}, found {matches.Count}.\n{Output}");
        return matches[0];
    }

    public async Task<IReadOnlyList<Sample>> MetricsAsync() => Exposition.Parse(await Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));

    public ValueTask DisposeAsync() => TestHost.StopAsync(_app, Client);

    private sealed class ClefSink : ILogEventSink
    {
        private readonly CompactJsonFormatter _formatter = new();
        private readonly StringWriter _writer = new(CultureInfo.InvariantCulture);
        private readonly Lock _sync = new();

        public string Text
        {
            get
            {
                lock (_sync)
                {
                    return _writer.ToString();
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            lock (_sync)
            {
                _formatter.Format(logEvent, _writer);
            }
        }

        public IEnumerable<string> Lines() => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

internal static class QueryEvents
{
    public static int EventIdOf(this JsonElement e) =>
        e.TryGetProperty("EventId", out var id) && id.ValueKind == JsonValueKind.Object && id.TryGetProperty("Id", out var n) ? n.GetInt32() : 0;

    public static bool IsSlowQuery(this JsonElement e) => e.Str("@mt")?.Contains("Slow query", StringComparison.Ordinal) == true;

    public static bool IsRepeatedQuery(this JsonElement e) => e.Str("@mt")?.Contains("Repeated query", StringComparison.Ordinal) == true;
}
