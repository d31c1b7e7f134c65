// Load-benchmark variant "prometheus-net only": request metrics as prometheus-net's README shows them
// (UseHttpMetrics after UseRouting, MapMetrics), with the library's defaults; framework logging at Warning as in bare.
using Observability.Benchmarks.Apps;
using Prometheus;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

var app = builder.Build();
app.UseRouting();
app.UseHttpMetrics();
app.MapBenchEndpoints();
app.MapMetrics();
app.Run();
