using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// The sample on the real servers it is deployed with: PostgreSQL through EF Core/Npgsql and Redis through
/// StackExchange.Redis, so the events the library writes are checked beside real drivers and real network I/O.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class PostgresAndRedisTests(ServersFixture servers, PostgresAndRedisTests.SharedSampleApi shared)
    : IClassFixture<PostgresAndRedisTests.SharedSampleApi>
{
    [Fact]
    public async Task Items_are_listed_and_created_in_postgres()
    {
        var sample = await shared.GetAsync(servers);

        using var list = await sample.Client.GetAsync("/api/items");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var created = await sample.Client.PostAsJsonAsync("/api/items", new { name = "Flange", price = 12.5m });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();

        using var fetched = await sample.Client.GetAsync($"/api/items/{id}");
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("Flange", (await fetched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());

        // Straight from PostgreSQL: the row is really there, not in a SQLite file the sample fell back to.
        await using var connection = new NpgsqlConnection(servers.Postgres.ConnectionStringFor(shared.DatabaseName));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""SELECT "Name" FROM "Items" WHERE "Id" = @id""", connection);
        command.Parameters.AddWithValue("id", id);
        Assert.Equal("Flange", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_health_checks_own_postgres_pool_is_labelled_by_name_not_by_its_connection_string()
    {
        var sample = await shared.GetAsync(servers);
        using var ready = await sample.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var samples = Exposition.Parse(await sample.Client.GetStringAsync("/metrics"));

        // Npgsql's pool metrics for the check's own pool (at most two connections) carry its name...
        Assert.Equal(2, samples.Single("db_client_connection_max", ("db_client_connection_pool_name", "observability-health")));
        // ...and no series spells out that pool's connection string: host, port, user, database, settings.
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.Contains("Application Name=observability-health", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Created_item_event_carries_the_request_id_of_the_post()
    {
        var sample = await shared.GetAsync(servers);

        using var created = await sample.Client.PostAsJsonAsync("/api/items", new { name = "Bracket", price = 2m });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var requestId = created.SingleHeader(ClefEvents.RequestIdHeader);
        var itemId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
        await sample.App.WaitForCompletionEventAsync(requestId);

        // The app's own event, written through ILogger with no request ID of its own, is joined to the response.
        var appEvent = Assert.Single(sample.App.JsonLines(), e => e.StringProperty("@mt") == "Created item {ItemId}" && e.GetProperty("ItemId").GetInt32() == itemId);
        Assert.Equal(requestId, appEvent.StringProperty("RequestId"));
    }

    [Fact]
    public async Task Slow_query_on_postgres_takes_the_time_asked_and_answers_200()
    {
        var sample = await shared.GetAsync(servers);

        var clock = Stopwatch.StartNew();
        using var response = await sample.Client.GetAsync("/api/db/slow?ms=300");
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"Answered in {clock.ElapsedMilliseconds} ms; pg_sleep did not run.");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("postgres", body.GetProperty("database").GetString());
    }

    [Fact]
    public async Task Cache_on_redis_misses_then_hits()
    {
        var sample = await shared.GetAsync(servers);
        // The Redis is shared by the whole collection: a key of our own.
        var key = $"k-{Guid.NewGuid():N}";

        var first = await sample.Client.GetFromJsonAsync<JsonElement>($"/api/cache/{key}");
        var second = await sample.Client.GetFromJsonAsync<JsonElement>($"/api/cache/{key}");

        Assert.Equal("redis", first.GetProperty("source").GetString());
        Assert.False(first.GetProperty("hit").GetBoolean());
        Assert.Equal("redis", second.GetProperty("source").GetString());
        Assert.True(second.GetProperty("hit").GetBoolean());
        Assert.Equal(first.GetProperty("value").GetString(), second.GetProperty("value").GetString());

        await using var redis = await ConnectionMultiplexer.ConnectAsync(servers.Redis.ConnectionString);
        Assert.True(await redis.GetDatabase().KeyExistsAsync($"sample-api:{key}"), "The value must be in the real Redis.");
    }

    /// <summary>
    /// One sample process (and one database) for the class: the tests are independent of each other's data, and a
    /// process per test would only add start-up time. Started on first use because a class fixture cannot receive
    /// the collection's servers.
    /// </summary>
    public sealed class SharedSampleApi : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private SampleApiProcess? _sample;
        private bool _databaseCreated;

        public string DatabaseName { get; } = $"sample_{Guid.NewGuid():N}";

        public async Task<SampleApiProcess> GetAsync(ServersFixture servers)
        {
            await _gate.WaitAsync();
            try
            {
                if (_sample is null)
                {
                    if (!_databaseCreated)
                    {
                        await servers.Postgres.CreateDatabaseAsync(DatabaseName);
                        _databaseCreated = true;
                    }

                    _sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
                    {
                        ["ConnectionStrings__Postgres"] = servers.Postgres.ConnectionStringFor(DatabaseName),
                        ["ConnectionStrings__Redis"] = servers.Redis.ConnectionString,
                    });
                }

                return _sample;
            }
            finally
            {
                _gate.Release();
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (_sample is not null)
            {
                await _sample.DisposeAsync();
            }

            _gate.Dispose();
        }
    }
}
