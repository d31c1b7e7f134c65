using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP "server" on a free loopback port that accepts every connection and never sends a byte.
/// </summary>
/// <remarks>
/// This is the nastiest dependency failure: the TCP handshake succeeds (so "connection refused" fast
/// paths never trigger) but no response ever comes. Pointing a PostgreSQL/Redis/HTTP client at it shows
/// whether the code under test really has timeouts. Accepted sockets are kept open (not closed, which
/// the client would see as EOF) until the listener is disposed.
/// </remarks>
public sealed class SilentListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _accepted = [];
    private readonly Task _acceptLoop;
    private int _acceptedConnections;

    /// <summary>Starts listening on 127.0.0.1 at an OS-chosen port.</summary>
    public SilentListener()
    {
        // Bind port 0 directly (rather than FreePort) so there is no window where the port could be stolen.
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(backlog: 512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port to point the client under test at.</summary>
    public int Port { get; }

    /// <summary>How many connections have been accepted so far (proves the client really tried).</summary>
    public int AcceptedConnections => Volatile.Read(ref _acceptedConnections);

    /// <summary>Stops listening and closes every accepted socket.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends with an exception when the listener is stopped; that is the expected way out.
        }

        foreach (var socket in _accepted)
        {
            socket.Dispose();
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            // Hold on to the socket: letting it be collected would close it and the client would get EOF.
            _accepted.Add(socket);
            Interlocked.Increment(ref _acceptedConnections);
        }
    }
}
