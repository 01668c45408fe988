"""Pure chart functions: DataFrame in, plotly Figure out. No Streamlit import here, so
every chart can be tested and exported (kaleido) without a running app."""
