using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Observability.SampleApi.Data;

namespace Observability.SampleApi.Endpoints;

/// <summary>
/// <c>/api/outgoing</c>: one request that queries the database and then calls out over HTTP (to this app's own
/// <c>/</c>, so the sample needs no other service), to show a request, its SQL and its outgoing call as one trace.
/// </summary>
internal static class OutgoingEndpoints
{
    public const string ClientName = "self";

    public static void MapOutgoing(this IEndpointRouteBuilder api) => api.MapGet("/outgoing", CallAsync);

    public static IServiceCollection AddOutgoingClient(this IServiceCollection services)
    {
        // The base address is the server's own listening address, not the request's Host header, which a caller chooses.
        services.AddHttpClient(ClientName, static (sp, client) => client.BaseAddress = OwnAddress(sp.GetRequiredService<IServer>()));
        return services;
    }

    private static async Task<Ok<OutgoingResult>> CallAsync(
        SampleDbContext db,
        DatabaseInitializer initializer,
        IHttpClientFactory clients,
        CancellationToken cancellationToken)
    {
        await initializer.EnsureInitializedAsync(cancellationToken);
        var items = await db.Items.CountAsync(cancellationToken);
        using var response = await clients.CreateClient(ClientName).GetAsync(new Uri("/", UriKind.Relative), cancellationToken);
        return TypedResults.Ok(new OutgoingResult(items, (int)response.StatusCode));
    }

    private static Uri OwnAddress(IServer server)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(static a => a.StartsWith("http://", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("The sample calls itself over plain HTTP, but it listens on no http:// address.");

        // A wildcard binding (http://+:8080, http://0.0.0.0:8080, http://[::]:8080) is reached on loopback.
        var uri = new UriBuilder(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]")
        {
            uri.Host = "localhost";
        }

        return uri.Uri;
    }

    internal sealed record OutgoingResult(int Items, int CalledStatusCode);
}
