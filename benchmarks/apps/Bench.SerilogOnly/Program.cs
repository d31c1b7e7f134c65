// Load-benchmark variant "Serilog request logging only": Serilog.AspNetCore as its README shows it (a logger
// configured first, Microsoft.AspNetCore at Warning, AddSerilog, UseSerilogRequestLogging), writing the compact JSON
// formatter's CLEF to the console: one completion event per request on stdout.
using Observability.Benchmarks.Apps;
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
    app.UseSerilogRequestLogging();
    app.MapBenchEndpoints();
    app.Run();
}
finally
{
    await Log.CloseAndFlushAsync();
}
