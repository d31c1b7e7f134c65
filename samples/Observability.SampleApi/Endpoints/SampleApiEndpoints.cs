namespace Observability.SampleApi.Endpoints;

/// <summary>Maps every endpoint of the sample.</summary>
internal static class SampleApiEndpoints
{
    public const string ServiceName = "Observability.SampleApi";

    private static readonly string[] Endpoints =
    [
        "GET /",
        "GET /api/items",
        "GET /api/items/{id}",
        "POST /api/items",
        "GET /api/cache/{key}",
        "GET /api/slow?ms=N",
        "GET /api/db/slow?ms=N",
        "GET /api/boom",
        "GET /api/outgoing",
        "POST /api/jobs/{fast|slow|fail|hang}",
    ];

    public static IEndpointRouteBuilder MapSampleApi(this IEndpointRouteBuilder app)
    {
        // A tiny index: tells a human what to call, and is a cheap readiness probe for tests that start the process.
        app.MapGet("/", static () => TypedResults.Ok(new ServiceInfo(ServiceName, Endpoints)));

        var api = app.MapGroup("/api");
        api.MapItems();
        api.MapCache();
        api.MapDiagnostics();
        api.MapOutgoing();
        api.MapJobs();
        return app;
    }

    internal sealed record ServiceInfo(string Service, IReadOnlyList<string> Endpoints);
}
