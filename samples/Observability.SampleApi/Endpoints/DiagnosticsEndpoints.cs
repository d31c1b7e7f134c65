using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Observability.SampleApi.Data;

namespace Observability.SampleApi.Endpoints;

/// <summary>Endpoints that misbehave on purpose, to show slow requests, slow queries and failures in the logs.</summary>
internal static class DiagnosticsEndpoints
{
    private const int MaxMilliseconds = 60_000;

    public static void MapDiagnostics(this IEndpointRouteBuilder api)
    {
        api.MapGet("/slow", SlowAsync);
        api.MapGet("/db/slow", DatabaseSlowAsync);
        api.MapGet("/boom", Boom);
    }

    private static async Task<Results<Ok<SlowResult>, ValidationProblem>> SlowAsync(int ms, CancellationToken cancellationToken)
    {
        if (Validate(ms) is { } problem)
        {
            return problem;
        }

        // Cancelled when the client goes away, so an abandoned request stops waiting at once.
        await Task.Delay(TimeSpan.FromMilliseconds(ms), cancellationToken);
        return TypedResults.Ok(new SlowResult(ms));
    }

    private static async Task<Results<Ok<DatabaseSlowResult>, ValidationProblem>> DatabaseSlowAsync(
        int ms,
        SampleDbContext db,
        DatabaseInitializer initializer,
        CancellationToken cancellationToken)
    {
        if (Validate(ms) is { } problem)
        {
            return problem;
        }

        await initializer.EnsureInitializedAsync(cancellationToken);

        // The statement must be allowed to outlive the providers' 30 s default command timeout.
        db.Database.SetCommandTimeout(TimeSpan.FromMilliseconds(ms) + TimeSpan.FromSeconds(10));
        string database;
        if (db.Database.IsNpgsql())
        {
            database = "postgres";
            await db.Database.ExecuteSqlAsync($"SELECT pg_sleep({ms / 1000.0})", cancellationToken);
        }
        else
        {
            database = "sqlite";
            await db.Database.ExecuteSqlAsync($"SELECT sleep({ms})", cancellationToken);
        }

        return TypedResults.Ok(new DatabaseSlowResult(ms, database));
    }

    private static IResult Boom() => throw new InvalidOperationException("Boom: this endpoint always fails.");

    private static ValidationProblem? Validate(int ms) => ms is >= 0 and <= MaxMilliseconds
        ? null
        : TypedResults.ValidationProblem(new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["ms"] = [$"ms must be between 0 and {MaxMilliseconds}; was {ms}."],
        });

    internal sealed record SlowResult(int WaitedMs);

    internal sealed record DatabaseSlowResult(int WaitedMs, string Database);
}
