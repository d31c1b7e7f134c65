using Microsoft.EntityFrameworkCore;

namespace Observability.SampleApi.Data;

/// <summary>
/// Creates the schema and seeds it, once, on the first request that needs the database rather than at startup: an app
/// whose database is down (or hangs) must still start and serve everything else.
/// </summary>
/// <remarks>
/// Requests that arrive while an attempt runs wait for that same attempt instead of queueing for their own, so a hanging
/// database costs each of them one connect timeout, not one per request ahead of it. A failed attempt is forgotten, so a
/// later request tries again once the database is back.
/// </remarks>
internal sealed class DatabaseInitializer(IServiceScopeFactory scopeFactory)
{
    private readonly Lock _sync = new();
    private Task? _initialization;

    public Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _initialization) is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        Task initialization;
        lock (_sync)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled)
            {
                // Not tied to the caller's token: one client going away must not fail the attempt the others wait for.
                // Task.Run, because SQLite does its work synchronously and would otherwise run it under this lock.
                _initialization = Task.Run(InitializeAsync, CancellationToken.None);
            }

            initialization = _initialization;
        }

        return initialization.WaitAsync(cancellationToken);
    }

    private async Task InitializeAsync()
    {
        // A scope of its own: the request's context must not be left tracking the seeded entities.
        await using var scope = scopeFactory.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SampleDbContext>();
        await db.Database.EnsureCreatedAsync();
        if (!await db.Items.AnyAsync())
        {
            var now = DateTime.UtcNow;
            db.Items.AddRange(
                new Item { Name = "Widget", Price = 9.99m, CreatedUtc = now },
                new Item { Name = "Gadget", Price = 24.50m, CreatedUtc = now },
                new Item { Name = "Gizmo", Price = 4.75m, CreatedUtc = now });
            await db.SaveChangesAsync();
        }
    }
}
