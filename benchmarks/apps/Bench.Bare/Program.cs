// Load-benchmark variant "bare": the baseline. A minimal API with routing only and framework logging at Warning, so
// nothing is logged per request.
using Observability.Benchmarks.Apps;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

var app = builder.Build();
app.MapBenchEndpoints();
app.Run();
