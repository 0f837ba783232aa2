/**
 * Memory charts, in three parts: chart-series and chart-spec (pure: a report or timeline
 * series → declarative ChartSpec), chart-config (spec → Chart.js configuration, the function
 * the HTML page runs too) and chart-png (rendering in Node). This module is their one import.
 */
export * from './chart-series.js';
export * from './chart-spec.js';
export * from './chart-config.js';
export * from './chart-png.js';
