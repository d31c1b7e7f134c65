// Load-benchmark variant "reference prototype" (opt-in: --variants ...,reference-prototype). Issue 7 sets its bar from
// "a careful single-middleware prototype of the same feature set on the same two libraries (Serilog pipeline +
// prometheus-net, one CLEF line per request to stdout)", measured on another machine. This is that prototype rebuilt
// here, so the bar's reference can be measured in the same rounds as the defaults app on the machine at hand.
//
// It applies every per-request fact the issue lists: a request ID from a process-random prefix and a counter;
// prometheus-net children cached per (endpoint, method, status) and no exemplars; a pre-parsed message template with
// pre-created property names; CLEF written as UTF-8 directly, not through CompactJsonFormatter and a TextWriter;
// Serilog added as a logging provider, not as the logger factory; stdout written in slices of at most 32 KB.
// Like the prototype it has fewer features than the defaults app: no ClientIp or UserId, no Service, Version or
// Environment, no redaction, no in-flight set (hung requests), no database listener (without EF Core or Npgsql in the
// app a slow-query interceptor costs nothing per request, so none is registered).
using Observability.Benchmarks.Apps;
using Prometheus;
using Serilog;
using Serilog.Events;

// The process metrics stay; the meter and EventCounter adapters go: the meter adapter would subscribe to ASP.NET Core's
// own per-request meters, which then record every request a second time.
Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressMeters = true, SuppressEventCounters = true });

var accessor = new HttpContextAccessor();
var sink = new ClefStdoutSink();
var logger = new LoggerConfiguration()
    .MinimumLevel.Information()
    .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
    .Enrich.With(new RequestIdEnricher(accessor))
    .WriteTo.Sink(sink)
    .CreateLogger();

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.Logging.ClearProviders();
    builder.Logging.AddSerilog(logger);
    builder.Services.AddSingleton<IHttpContextAccessor>(accessor);

    var app = builder.Build();
    app.UseMiddleware<PrototypeMiddleware>(logger.ForContext<PrototypeMiddleware>());
    app.MapBenchEndpoints();
    app.MapMetrics();
    app.Run();
}
finally
{
    logger.Dispose();
    sink.Dispose();
}
