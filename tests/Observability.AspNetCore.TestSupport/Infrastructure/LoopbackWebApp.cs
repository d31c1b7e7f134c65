using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A stand-in for a third-party HTTP endpoint (a webhook target, an error tracker's ingestion API): real Kestrel on a
/// port the OS picks on 127.0.0.1, quiet, with the routes <c>map</c> adds.
/// </summary>
public static class LoopbackWebApp
{
    /// <returns>The started app (the caller disposes it) and its port.</returns>
    public static async Task<(WebApplication App, int Port)> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return (app, address.Port);
    }
}
