using System.Net;
using System.Net.Sockets;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// Picks a TCP port on 127.0.0.1 that nobody is listening on right now.
/// </summary>
/// <remarks>
/// The OS chooses the port (bind to port 0), so parallel tests never pick the same one, and we never
/// touch a fixed port that a developer's own PostgreSQL/Redis might already use. There is an unavoidable
/// window between releasing the port and the server binding it; the server helpers retry with a fresh
/// port when a bind fails, which covers that race.
/// </remarks>
public static class FreePort
{
    /// <summary>Returns a currently free loopback port.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
