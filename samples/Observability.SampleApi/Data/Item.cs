namespace Observability.SampleApi.Data;

/// <summary>An item of the catalogue: the one entity of the sample, stored through EF Core.</summary>
internal sealed class Item
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public decimal Price { get; set; }

    public DateTime CreatedUtc { get; set; }
}
