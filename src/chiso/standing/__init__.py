"""National standing (kết quả công bố trên Cổng Dịch vụ công quốc gia): the scores and ranks
the national portal publishes for the province and for its own communes and agencies."""
