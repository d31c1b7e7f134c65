namespace Observability.Benchmarks.Apps;

/// <summary>
/// The two endpoints every load-benchmark app serves, with the same handlers: a small JSON record behind a route with
/// a parameter and a constraint, and a short string. The apps differ only in what they wrap around these.
/// </summary>
internal static class BenchEndpoints
{
    public static void MapBenchEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/items/{id:int}", static (int id) => new Item(id, "Widget", 19.99m));
        app.MapGet("/ping", static () => "pong");
    }
}

/// <summary>The JSON body of <c>/api/items/{id}</c>: about 40 bytes.</summary>
internal sealed record Item(int Id, string Name, decimal Price);
