// Load-benchmark variant "hand-assembled": what teams copy today to get request IDs, a per-request JSON log line and
// request metrics: a request-ID / response-time middleware written the usual way, Serilog request logging with the
// compact JSON formatter (as Serilog.AspNetCore's README shows it) and prometheus-net's UseHttpMetrics (as its README
// shows it). Built as those READMEs show, not weakened.
using Observability.Benchmarks.Apps;
using Prometheus;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

Log.Logger = new LoggerConfiguration()
    .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
    .Enrich.FromLogContext()
    .WriteTo.Console(new CompactJsonFormatter())
    .CreateLogger();

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.Services.AddSerilog();

    var app = builder.Build();
    app.UseMiddleware<RequestIdMiddleware>();
    app.UseSerilogRequestLogging();
    app.UseRouting();
    app.UseHttpMetrics();
    app.MapBenchEndpoints();
    app.MapMetrics();
    app.Run();
}
finally
{
    await Log.CloseAndFlushAsync();
}
