using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.IntegrationTests.SlowQueries;

namespace Observability.AspNetCore.IntegrationTests.Metrics;

/// <summary>
/// Npgsql names an unnamed data source by its connection string minus <c>Password</c> and labels every pool metric
/// with that name. On a real PostgreSQL, with a marker in every other secret-bearing keyword Npgsql accepts, the open
/// <c>/metrics</c> must carry none of them, while host, port and database still tell the pools apart.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class PoolNameSecretsTests(ServersFixture servers)
{
    private const string Marker = "secretmarker";

    [Fact]
    public async Task Unnamed_npgsql_pools_are_labelled_by_host_port_and_database_without_any_secret()
    {
        var other = "pools_" + Guid.NewGuid().ToString("N")[..12];
        await servers.Postgres.CreateDatabaseAsync(other);
        var port = servers.Postgres.Port.ToString(CultureInfo.InvariantCulture);
        var password = servers.Postgres.Password;

        // Synonyms of one setting override each other, so each spelling gets a data source of its own. SSL is off, so
        // the key and certificate paths are never opened; the password is given, so the passfile is never read.
        string[] connectionStrings =
        [
            $"Host=127.0.0.1;Port={port};Database=postgres;Username=postgres;Password={password};SSL Mode=Disable;"
                + $"SSL Password={Marker}1;SSL Key=/{Marker}2.key;SSL Certificate=/{Marker}3.crt;Root Certificate=/{Marker}4.crt;"
                + $"Passfile=/{Marker}5;Kerberos Service Name={Marker}6;Application Name={Marker}7;Options=-c search_path={Marker}8",
            $"Server=127.0.0.1;Port={port};DB=postgres;User Id=postgres;PSW={password};SslMode=Disable;"
                + $"SslPassword={Marker}9;SslKey=/{Marker}10.key;SslCertificate=/{Marker}11.crt;RootCertificate=/{Marker}12.crt;"
                + $"Krbsrvname={Marker}13;Persist Security Info=true",
            $"Host=127.0.0.1;Port={port};Database={other};UID=postgres;PWD={password};KerberosServiceName={Marker}14",
        ];

        await using var host = await QueryHost.StartAsync(_ => { }, _ => { });
        var sources = connectionStrings.Select(cs => NpgsqlDataSource.Create(cs)).ToList();
        try
        {
            foreach (var source in sources)
            {
                await using var command = source.CreateCommand("SELECT 1");
                Assert.Equal(1, await command.ExecuteScalarAsync());
            }

            var exposition = await host.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

            Assert.True(!exposition.Contains(Marker, StringComparison.OrdinalIgnoreCase), "A secret marker is on /metrics:\n" + string.Join('\n', exposition.Split('\n').Where(l => l.Contains(Marker, StringComparison.OrdinalIgnoreCase))));
            Assert.DoesNotContain(password, exposition, StringComparison.Ordinal);
            var pools = PoolName().Matches(exposition).Select(m => m.Groups[1].Value).ToHashSet();
            Assert.Contains($"Host=127.0.0.1;Port={port};Database=postgres", pools);
            Assert.Contains($"Host=127.0.0.1;Port={port};Database={other}", pools);
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    [GeneratedRegex(@"db_client_connection_pool_name=""([^""]*)""")]
    private static partial Regex PoolName();
}
