using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;
using Serilog.Events;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// An export sink (logs over OTLP) gets every event as an event, the completion event included, while the completion
/// line still goes straight to stdout: the direct path must neither bypass the export nor be given up for it.
/// </summary>
public sealed class ExportSinkTests
{
    [Fact]
    public async Task The_completion_event_reaches_an_export_sink_while_its_stdout_line_is_still_written_directly()
    {
        var export = new CollectingExportSink();
        await using var app = await TestApp.StartAsync(
            static a => a.MapGet("/api/orders/{id:int}", static (int id, ILoggerFactory loggers) =>
            {
                loggers.CreateLogger("Orders").LogInformation("Looked up order {OrderId}", id);
                return Results.Ok();
            }),
            configureBuilder: b => b.Services.AddSingleton<IEventExportSink>(export));
        Assert.True(app.App.Services.GetRequiredService<RequestCompletionLogger>().WritesDirectly);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orders/7");
        request.Headers.Add("X-Request-ID", "export-1");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        using var response = await app.Client.SendAsync(request);
        var line = await app.CompletionEventAsync("export-1");

        var completion = Assert.Single(export.Events, e => e.MessageTemplate.Text == RequestCompletionLogger.TemplateText);
        Assert.Equal("\"export-1\"", completion.Properties["RequestId"].ToString());
        Assert.Equal("\"/api/orders/{id:int}\"", completion.Properties["Route"].ToString());
        Assert.Equal("200", completion.Properties["StatusCode"].ToString());
        Assert.Equal($"\"{RequestCompletionLogger.SourceContextName}\"", completion.Properties["SourceContext"].ToString());
        Assert.Equal(line.Str("@tr"), completion.TraceId?.ToHexString());
        Assert.Equal(line.Str("@sp"), completion.SpanId?.ToHexString());
        Assert.Equal(line.Str("Service"), ((ScalarValue)completion.Properties["Service"]).Value);
        Assert.Equal(LogEventLevel.Information, completion.Level);

        var appEvent = Assert.Single(export.Events, e => e.MessageTemplate.Text == "Looked up order {OrderId}");
        Assert.Equal("\"export-1\"", appEvent.Properties["RequestId"].ToString());
        Assert.Equal(line.Str("@tr"), appEvent.TraceId?.ToHexString());
    }

    [Fact]
    public async Task Without_an_export_sink_the_completion_logger_has_nothing_to_export_to()
    {
        await using var app = await TestApp.StartAsync(static a => a.MapGet("/", static () => "ok"));

        Assert.Null(app.App.Services.GetRequiredService<SerilogPipeline>().Exports);
        Assert.Empty(app.App.Services.GetServices<IEventExportSink>());
    }

    private sealed class CollectingExportSink : IEventExportSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public IReadOnlyList<LogEvent> Events => WaitForAny();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        private LogEvent[] WaitForAny()
        {
            var clock = Stopwatch.StartNew();
            while (_events.IsEmpty && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }

            return _events.ToArray();
        }
    }
}
