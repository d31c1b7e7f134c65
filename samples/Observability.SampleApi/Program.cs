using Observability.SampleApi.Cache;
using Observability.SampleApi.Data;
using Observability.SampleApi.Endpoints;
using Observability.SampleApi.Jobs;

var builder = WebApplication.CreateBuilder(args);
builder.AddObservability();

builder.Services.AddProblemDetails();
builder.AddSampleDatabase();
builder.AddSampleCache();
builder.AddSampleJobs();
builder.Services.AddOutgoingClient();

// Kestrel reads only its endpoints from configuration; its limits (Kestrel:Limits:MaxConcurrentConnections, ...) are bound
// here, so a deployment can set them as environment variables.
builder.WebHost.ConfigureKestrel(kestrel => builder.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits));

var app = builder.Build();

// First, so that every response (including the 500 of an unhandled exception) carries the request ID and is logged.
app.UseObservability();

// Errors the framework answers without a body (a query parameter that does not bind, an unknown route) get a
// problem+json body too, like the API's own errors.
app.UseStatusCodePages();

app.MapSampleApi();

app.Run();

/// <summary>The entry point, public so that tests can host the app with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
