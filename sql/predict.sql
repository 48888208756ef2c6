-- The seed query: two models scored side by side on every feature row.
SELECT
    Predict(feature1, feature2, feature3) AS prediction,
    Predictv2(feature1) AS prediction2
FROM Features;
