// The graph JSON as the frontend reads it: one @typedef per model of
// backend/gradtrace/schema.py, named as there. tests/frontend/test_graph_typedef.py checks
// that every property of every model of /api/schema appears here, so a field the server
// adds is either typed for the frontend or the test says which one is missing.
// Types only: nothing here runs.

/**
 * A number as JSON carries it: NaN and ±Inf are strings.
 * @typedef {number|boolean|'NaN'|'Infinity'|'-Infinity'|null} Num
 */

/**
 * @typedef {object} SpanModel  where in the program text: 1-based, end exclusive
 * @property {number} line
 * @property {number} col
 * @property {number} end_line
 * @property {number} end_col
 */

/**
 * @typedef {object} Stats
 * @property {Num} min
 * @property {Num} max
 * @property {Num} mean
 * @property {Num} std
 * @property {number} [nan]
 * @property {number} [inf]
 * @property {number|null} [sample]  computed on an evenly strided sample of this many elements
 */

/**
 * @typedef {object} Grid  a downsampled 2-D view for a heatmap
 * @property {number} rows
 * @property {number} cols
 * @property {Num[][]} data
 */

/**
 * @typedef {object} Summary  a tensor's values kept small
 * @property {number[]} shape
 * @property {string} dtype
 * @property {number} numel
 * @property {unknown} [data]      full nested list up to the cap
 * @property {Num[]|null} [head]   first elements, flattened, over the cap
 * @property {Stats|null} [stats]
 * @property {Grid|null} [grid]
 */

/**
 * @typedef {object} SavedValue  a saved tensor or argument of an autograd node
 * @property {string} name
 * @property {Summary|null} [summary]
 * @property {Num|Num[]|string|null} [value]
 * @property {string|null} [value_of]  in the JSON only: the tensor node whose value is the summary (graph/wire.js)
 */

/**
 * @typedef {object} ChainStep  upstream × local = product on one edge
 * @property {Num} upstream
 * @property {Num} local
 * @property {Num} product
 */

/**
 * @typedef {object} TensorNode
 * @property {string} id
 * @property {'tensor'} kind
 * @property {string|null} [name]
 * @property {'leaf'|'param'|'constant'|'intermediate'|'output'} role
 * @property {number[]} shape
 * @property {string} dtype
 * @property {string} device
 * @property {boolean} requires_grad
 * @property {boolean} is_leaf
 * @property {string|null} [grad_fn]
 * @property {number} [output_nr]
 * @property {Summary|null} value
 * @property {Summary|null} [grad]      a leaf: what .grad held after the last pass through the graph
 * @property {SpanModel|null} [span]
 * @property {string|null} [module]
 * @property {boolean} [detached]
 */

/**
 * @typedef {object} OpNode
 * @property {string} id
 * @property {'op'} kind
 * @property {string} op              autograd class name, e.g. AddmmBackward0
 * @property {string} label           e.g. addmm
 * @property {number|null} [sequence_nr]
 * @property {number} [num_outputs]
 * @property {string|null} [variable]  AccumulateGrad: the leaf's tensor node id
 * @property {SavedValue[]} [saved]
 * @property {SpanModel|null} [span]
 * @property {string|null} [module]
 */

/**
 * @typedef {object} Edge  tensor --input--> op --output--> tensor
 * @property {string} id
 * @property {string} source
 * @property {string} target
 * @property {'input'|'output'|'cut'} kind
 * @property {number} [slot]
 * @property {Summary|null} [grad]
 * @property {ChainStep|null} [chain]
 */

/**
 * @typedef {object} Note
 * @property {string} code
 * @property {Record<string, string>} message  language -> text
 */

/**
 * @typedef {object} PassLeaf  one leaf a backward pass reached
 * @property {string} node             tensor node id
 * @property {Summary|null} value      the value this pass's graph read (by tensor version)
 * @property {Summary|null} [grad]     the gradient this pass delivered
 * @property {Summary|null} [grad_after]  what .grad held right after the pass
 */

/**
 * @typedef {object} BackwardPass  one backward() / autograd.grad call
 * @property {string} root
 * @property {string[]} order
 * @property {SpanModel|null} [span]
 * @property {Record<string, Summary>} [edge_grads]
 * @property {Record<string, ChainStep>} [chain]
 * @property {Record<string, Summary>} [node_grads]
 * @property {number|null} [index]     the pass's number among all passes the program ran (0-based)
 * @property {'backward'|'grad'} [call]  grad: torch.autograd.grad, .grad untouched
 * @property {boolean} [automatic]     run by gradtrace from an output the program never back-propagated
 * @property {PassLeaf[]} [leaves]
 * @property {string[]} [nodes]        node ids of this pass's graph
 */

/**
 * @typedef {object} Update  a change to a leaf between passes, in program order
 * @property {'optimizer_step'|'inplace'|'zero_grad'|'scheduler_step'} kind
 * @property {string|null} node        the leaf's tensor node id (null for a scheduler)
 * @property {Summary|null} [before]   the leaf's value (zero_grad: its .grad) before
 * @property {Summary|null} [after]    … and after (null: .grad set to None)
 * @property {number|null} [after_pass]  index of the last pass run before the update
 * @property {SpanModel|null} [span]
 * @property {UpdateDetail|null} [detail]
 */

/**
 * @typedef {object} UpdateDetail  what the update computed with (all optional)
 * @property {string|null} [optimizer]  e.g. SGD, Adam
 * @property {number|null} [lr]
 * @property {Summary|null} [grad]      the .grad the step read
 * @property {string|null} [expr]       e.g. "w ← 0.6 − 0.1 × (−4.8) = 1.08"
 * @property {Summary|null} [exp_avg]   Adam's moments after the step
 * @property {Summary|null} [exp_avg_sq]
 * @property {number|null} [step]
 * @property {number|null} [lr_before]  scheduler_step
 * @property {number|null} [lr_after]
 */

/**
 * @typedef {object} Iteration  one pass in the loss plot (every pass, shown in detail or not)
 * @property {number} pass
 * @property {Num} loss                 the root's value when scalar
 * @property {Record<string, Num>} params  scalar parameters' values that pass read
 */

/**
 * @typedef {object} GraphModel  the body of /api/graph
 * @property {1} schema_version
 * @property {string} device
 * @property {string|null} [output]
 * @property {(TensorNode|OpNode)[]} nodes
 * @property {Edge[]} edges
 * @property {Record<string, string>} variables  name -> tensor node id
 * @property {string[]} forward_order
 * @property {string[]} backward_order
 * @property {BackwardPass[]} [backward_passes]
 * @property {boolean} [per_pass]      the passes carry their own gradients: read those, not the sums
 * @property {string} [printed]
 * @property {Note[]} [notes]
 * @property {Update[]} [updates]
 * @property {Iteration[]} [iterations]
 * @property {number} [pass_count]
 */

export {};
