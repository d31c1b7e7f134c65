using System.Net.Sockets;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class SilentListenerTests
{
    [Fact]
    public async Task Silent_listener_accepts_connections_but_never_sends_a_byte()
    {
        using var listener = new SilentListener();
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", listener.Port);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var buffer = new byte[16];

        // Neither data nor EOF (a read returning 0) may arrive: the read must still be pending at the timeout.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.Fail($"The read completed with {read} bytes; a silent listener must send nothing and keep the socket open.");
        });

        await Poll.UntilAsync(() => listener.AcceptedConnections > 0, TimeSpan.FromSeconds(5), () => "The listener accepted no connection within 5 s.");

        Assert.Equal(1, listener.AcceptedConnections);
    }

    [Fact]
    public void Free_port_returns_a_port_that_can_be_bound_on_loopback()
    {
        var port = FreePort.Next();
        Assert.InRange(port, 1024, 65535);
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
        listener.Start();
        listener.Stop();
    }
}
