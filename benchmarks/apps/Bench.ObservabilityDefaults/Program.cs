// Load-benchmark variant "observability-defaults": the bare app plus exactly the two lines, nothing configured but
// the URL (given on the command line), so everything the library turns on by default is on: request IDs, one CLEF
// completion event per request on stdout, request metrics and /metrics, slow- and hung-request detection.
using Observability.Benchmarks.Apps;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.AddObservability();

var app = builder.Build();
app.UseObservability();
app.MapBenchEndpoints();
app.Run();
