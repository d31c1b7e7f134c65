// Load-benchmark variant "otel-only": the bare app plus OpenTelemetry's own ASP.NET Core instrumentation and the OTLP
// exporter, as OpenTelemetry's README shows them, with their defaults (parent-based always-on sampling, batched
// export). Endpoint and protocol come from the standard OTEL_EXPORTER_OTLP_* variables, which eng/bench.sh points at
// the same local receiver and protocol as the defaults-tracing variant.
using Observability.Benchmarks.Apps;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddOpenTelemetry().WithTracing(static tracing => tracing
    .AddAspNetCoreInstrumentation()
    .AddOtlpExporter());

var app = builder.Build();
app.MapBenchEndpoints();
app.Run();
