// The two lines on a minimal API, plus one endpoint that lists the assemblies loaded into the process so far.
var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();

var app = builder.Build();
app.UseObservability();
app.MapGet("/ping", static () => "pong");
app.MapGet("/loaded-assemblies", static () => AppDomain.CurrentDomain.GetAssemblies().Select(static a => a.GetName().Name).Order().ToArray());
app.Run();
