// aggregate_stages.js -- the examples of MongoDB's documentation for each
// aggregation stage, run through mongosh, with the results the documentation
// gives. Where a stage's output order is not defined ($group, $unionWith's
// $group) the check sorts first.

const sdb = db.getSiblingDB('jsstages');
sdb.dropDatabase();
const byId = (a) => a.slice().sort((x, y) => (x._id < y._id ? -1 : x._id > y._id ? 1 : 0));

// ---- $match
sdb.articles.insertMany([
  {_id: 1, author: 'dave', score: 80, views: 100}, {_id: 2, author: 'dave', score: 85, views: 521},
  {_id: 3, author: 'ahn', score: 60, views: 1000}, {_id: 4, author: 'li', score: 55, views: 5000},
  {_id: 5, author: 'annT', score: 60, views: 50}, {_id: 6, author: 'li', score: 94, views: 999},
  {_id: 7, author: 'ty', score: 95, views: 1000}]);
assertEq(sdb.articles.aggregate([{$match: {author: 'dave'}}]).toArray().map((d) => d._id), [1, 2], '$match equality');
assertEq(sdb.articles.aggregate([
  {$match: {$or: [{score: {$gt: 70, $lt: 90}}, {views: {$gte: 1000}}]}},
  {$group: {_id: null, count: {$sum: 1}}}]).toArray(), [{_id: null, count: 5}], '$match + $group count');

// ---- $project / $addFields / $set / $unset
sdb.books.insertOne({_id: 1, title: 'abc123', isbn: '0001122223334', author: {last: 'zzz', first: 'aaa'}, copies: 5, lastModified: '2016-07-28'});
assertEq(sdb.books.aggregate([{$project: {title: 1, author: 1}}]).toArray(),
  [{_id: 1, title: 'abc123', author: {last: 'zzz', first: 'aaa'}}], '$project inclusion');
assertEq(sdb.books.aggregate([{$project: {_id: 0, title: 1, author: 1}}]).toArray(),
  [{title: 'abc123', author: {last: 'zzz', first: 'aaa'}}], '$project without _id');
assertEq(sdb.books.aggregate([{$project: {lastModified: 0}}]).toArray(),
  [{_id: 1, title: 'abc123', isbn: '0001122223334', author: {last: 'zzz', first: 'aaa'}, copies: 5}], '$project exclusion');
assertEq(sdb.books.aggregate([{$project: {
  title: 1,
  isbn: {prefix: {$substr: ['$isbn', 0, 3]}, group: {$substr: ['$isbn', 3, 2]},
    publisher: {$substr: ['$isbn', 5, 4]}, title: {$substr: ['$isbn', 9, 3]}, checkDigit: {$substr: ['$isbn', 12, 1]}},
  lastName: '$author.last', copiesSold: '$copies'}}]).toArray(),
  [{_id: 1, title: 'abc123', isbn: {prefix: '000', group: '11', publisher: '2222', title: '333', checkDigit: '4'}, lastName: 'zzz', copiesSold: 5}],
  '$project computed fields');
assertEq(sdb.books.aggregate([{$unset: ['isbn', 'author.first', 'copies', 'lastModified']}]).toArray(),
  [{_id: 1, title: 'abc123', author: {last: 'zzz'}}], '$unset');

sdb.scores.insertMany([
  {_id: 1, student: 'Maya', homework: [10, 5, 10], quiz: [10, 8], extraCredit: 0},
  {_id: 2, student: 'Ryan', homework: [5, 6, 5], quiz: [8, 8], extraCredit: 8}]);
assertEq(sdb.scores.aggregate([
  {$addFields: {totalHomework: {$sum: '$homework'}, totalQuiz: {$sum: '$quiz'}}},
  {$addFields: {totalScore: {$add: ['$totalHomework', '$totalQuiz', '$extraCredit']}}},
  {$project: {_id: 0, student: 1, totalHomework: 1, totalQuiz: 1, totalScore: 1}}]).toArray(),
  [{student: 'Maya', totalHomework: 25, totalQuiz: 18, totalScore: 43},
   {student: 'Ryan', totalHomework: 16, totalQuiz: 16, totalScore: 40}], '$addFields');
assertEq(sdb.scores.aggregate([{$set: {'quiz': {$concatArrays: ['$quiz', [7]]}}}, {$project: {quiz: 1}}]).toArray(),
  [{_id: 1, quiz: [10, 8, 7]}, {_id: 2, quiz: [8, 8, 7]}], '$set');

// ---- $group (the documentation's sales, NumberDecimal prices included)
sdb.sales.insertMany([
  {_id: 1, item: 'abc', price: NumberDecimal('10'), quantity: NumberInt('2'), date: ISODate('2014-03-01T08:00:00Z')},
  {_id: 2, item: 'jkl', price: NumberDecimal('20'), quantity: NumberInt('1'), date: ISODate('2014-03-01T09:00:00Z')},
  {_id: 3, item: 'xyz', price: NumberDecimal('5'), quantity: NumberInt('10'), date: ISODate('2014-03-15T09:00:00Z')},
  {_id: 4, item: 'xyz', price: NumberDecimal('5'), quantity: NumberInt('20'), date: ISODate('2014-04-04T11:21:39.736Z')},
  {_id: 5, item: 'abc', price: NumberDecimal('10'), quantity: NumberInt('10'), date: ISODate('2014-04-04T21:23:13.331Z')},
  {_id: 6, item: 'def', price: NumberDecimal('7.5'), quantity: NumberInt('5'), date: ISODate('2015-06-04T05:08:13Z')},
  {_id: 7, item: 'def', price: NumberDecimal('7.5'), quantity: NumberInt('10'), date: ISODate('2015-09-10T08:43:00Z')},
  {_id: 8, item: 'abc', price: NumberDecimal('10'), quantity: NumberInt('5'), date: ISODate('2016-02-06T20:20:13Z')}]);
assertEq(sdb.sales.aggregate([{$group: {_id: null, count: {$count: {}}}}]).toArray(), [{_id: null, count: 8}], '$group $count');
assertEq(sdb.sales.aggregate([{$group: {_id: '$item'}}, {$sort: {_id: 1}}]).toArray(),
  [{_id: 'abc'}, {_id: 'def'}, {_id: 'jkl'}, {_id: 'xyz'}], '$group distinct');
const having = sdb.sales.aggregate([
  {$group: {_id: '$item', totalSaleAmount: {$sum: {$multiply: ['$price', '$quantity']}}}},
  {$match: {totalSaleAmount: {$gte: 100}}}, {$sort: {_id: 1}}]).toArray();
assertEq(having.map((d) => [d._id, d.totalSaleAmount.toString()]),
  [['abc', NumberDecimal('170').toString()], ['def', NumberDecimal('112.5').toString()],
   ['xyz', NumberDecimal('150').toString()]], '$group having');
const byDay = sdb.sales.aggregate([
  {$match: {date: {$gte: new ISODate('2014-01-01'), $lt: new ISODate('2015-01-01')}}},
  {$group: {_id: {$dateToString: {format: '%Y-%m-%d', date: '$date'}},
    totalSaleAmount: {$sum: {$multiply: ['$price', '$quantity']}}, averageQuantity: {$avg: '$quantity'}, count: {$sum: 1}}},
  {$sort: {totalSaleAmount: -1}}]).toArray();
assertEq(byDay.map((d) => [d._id, d.totalSaleAmount.toString(), d.averageQuantity, d.count]),
  [['2014-04-04', NumberDecimal('200').toString(), 15, 2], ['2014-03-15', NumberDecimal('50').toString(), 10, 1],
   ['2014-03-01', NumberDecimal('40').toString(), 1.5, 2]], '$group by day');

// ---- $sort / $limit / $skip / $count / $sortByCount
sdb.scores2.insertMany([
  {_id: 1, subject: 'History', score: 88}, {_id: 2, subject: 'History', score: 92},
  {_id: 3, subject: 'History', score: 97}, {_id: 4, subject: 'History', score: 71},
  {_id: 5, subject: 'History', score: 79}, {_id: 6, subject: 'History', score: 83}]);
assertEq(sdb.scores2.aggregate([{$match: {score: {$gt: 80}}}, {$count: 'passing_scores'}]).toArray(),
  [{passing_scores: 4}], '$count');
assertEq(sdb.scores2.aggregate([{$sort: {score: -1}}, {$skip: 1}, {$limit: 2}]).toArray().map((d) => d._id), [2, 1], '$sort $skip $limit');

// ---- $unwind
sdb.clothing.insertMany([
  {_id: 1, item: 'Shirt', sizes: ['S', 'M', 'L']}, {_id: 2, item: 'Shorts', sizes: []},
  {_id: 3, item: 'Hat', sizes: 'M'}, {_id: 4, item: 'Gloves'}, {_id: 5, item: 'Scarf', sizes: null}]);
assertEq(sdb.clothing.aggregate([{$unwind: {path: '$sizes', includeArrayIndex: 'arrayIndex'}}]).toArray(),
  [{_id: 1, item: 'Shirt', sizes: 'S', arrayIndex: NumberLong('0')}, {_id: 1, item: 'Shirt', sizes: 'M', arrayIndex: NumberLong('1')},
   {_id: 1, item: 'Shirt', sizes: 'L', arrayIndex: NumberLong('2')}, {_id: 3, item: 'Hat', sizes: 'M', arrayIndex: null}], '$unwind includeArrayIndex');
assertEq(sdb.clothing.aggregate([{$unwind: {path: '$sizes', preserveNullAndEmptyArrays: true}}]).toArray(),
  [{_id: 1, item: 'Shirt', sizes: 'S'}, {_id: 1, item: 'Shirt', sizes: 'M'}, {_id: 1, item: 'Shirt', sizes: 'L'},
   {_id: 2, item: 'Shorts'}, {_id: 3, item: 'Hat', sizes: 'M'}, {_id: 4, item: 'Gloves'}, {_id: 5, item: 'Scarf', sizes: null}],
  '$unwind preserveNullAndEmptyArrays');

// ---- $bucket / $bucketAuto / $facet / $sortByCount
sdb.artists.insertMany([
  {_id: 1, last_name: 'Bernard', first_name: 'Emil', year_born: 1868, year_died: 1941, nationality: 'France'},
  {_id: 2, last_name: 'Rippl-Ronai', first_name: 'Joszef', year_born: 1861, year_died: 1927, nationality: 'Hungary'},
  {_id: 3, last_name: 'Ostroumova', first_name: 'Anna', year_born: 1871, year_died: 1955, nationality: 'Russia'},
  {_id: 4, last_name: 'Van Gogh', first_name: 'Vincent', year_born: 1853, year_died: 1890, nationality: 'Holland'},
  {_id: 5, last_name: 'Maurer', first_name: 'Alfred', year_born: 1868, year_died: 1932, nationality: 'USA'},
  {_id: 6, last_name: 'Munch', first_name: 'Edvard', year_born: 1863, year_died: 1944, nationality: 'Norway'},
  {_id: 7, last_name: 'Redon', first_name: 'Odilon', year_born: 1840, year_died: 1916, nationality: 'France'},
  {_id: 8, last_name: 'Diriks', first_name: 'Edvard', year_born: 1855, year_died: 1930, nationality: 'Norway'}]);
assertEq(sdb.artists.aggregate([
  {$bucket: {groupBy: '$year_born', boundaries: [1840, 1850, 1860, 1870, 1880], default: 'Other',
    output: {count: {$sum: 1}, artists: {$push: {name: {$concat: ['$first_name', ' ', '$last_name']}, year_born: '$year_born'}}}}},
  {$match: {count: {$gt: 3}}}]).toArray(),
  [{_id: 1860, count: 4, artists: [{name: 'Emil Bernard', year_born: 1868}, {name: 'Joszef Rippl-Ronai', year_born: 1861},
    {name: 'Alfred Maurer', year_born: 1868}, {name: 'Edvard Munch', year_born: 1863}]}], '$bucket');

sdb.artwork.insertMany([
  {_id: 1, title: 'The Pillars of Society', artist: 'Grosz', year: 1926, price: NumberDecimal('199.99'), tags: ['painting', 'satire', 'Expressionism', 'caricature']},
  {_id: 2, title: 'Melancholy III', artist: 'Munch', year: 1902, price: NumberDecimal('280.00'), tags: ['woodcut', 'Expressionism']},
  {_id: 3, title: 'Dancer', artist: 'Miro', year: 1925, price: NumberDecimal('76.04'), tags: ['oil', 'Surrealism', 'painting']},
  {_id: 4, title: 'The Great Wave off Kanagawa', artist: 'Hokusai', price: NumberDecimal('167.30'), tags: ['woodblock', 'ukiyo-e']},
  {_id: 5, title: 'The Persistence of Memory', artist: 'Dali', year: 1931, price: NumberDecimal('483.00'), tags: ['Surrealism', 'painting', 'oil']},
  {_id: 6, title: 'Composition VII', artist: 'Kandinsky', year: 1913, price: NumberDecimal('385.00'), tags: ['oil', 'painting', 'abstract']},
  {_id: 7, title: 'The Scream', artist: 'Munch', year: 1893, tags: ['Expressionism', 'painting', 'oil']},
  {_id: 8, title: 'Blue Flower', artist: "O'Keefe", year: 1918, price: NumberDecimal('118.42'), tags: ['abstract', 'painting']}]);
const auto = sdb.artwork.aggregate([{$bucketAuto: {groupBy: '$price', buckets: 4}}]).toArray();
assertEq(auto.map((b) => b.count), [2, 2, 2, 2], '$bucketAuto counts');
assertEq(auto[0]._id.min, null, '$bucketAuto: the missing price sorts first');
assertEq(auto[3]._id.max.toString(), '483.00', '$bucketAuto: last max is the largest value');
for (let i = 0; i + 1 < auto.length; i++)
  assertEq(auto[i]._id.max.toString(), auto[i + 1]._id.min.toString(), '$bucketAuto: buckets touch');
assertEq(sdb.aggregate([{$documents: [{x: 10}, {x: 2}, {x: 5}]}, {$bucketAuto: {groupBy: '$x', buckets: 4}}]).toArray(),
  [{_id: {min: 2, max: 5}, count: 1}, {_id: {min: 5, max: 10}, count: 1}, {_id: {min: 10, max: 10}, count: 1}], '$documents + $bucketAuto');

const facet = sdb.artwork.aggregate([{$facet: {
  categorizedByTags: [{$unwind: '$tags'}, {$sortByCount: '$tags'}],
  categorizedByPrice: [{$match: {price: {$exists: 1}}},
    {$bucket: {groupBy: '$price', boundaries: [0, 150, 200, 300, 400], default: 'Other',
      output: {count: {$sum: 1}, titles: {$push: '$title'}}}}],
  'categorizedByYears(Auto)': [{$bucketAuto: {groupBy: '$year', buckets: 4}}]}}]).toArray()[0];
assertEq(facet.categorizedByTags.slice(0, 3), [{_id: 'painting', count: 6}, {_id: 'oil', count: 4}, {_id: 'Expressionism', count: 3}], '$facet $sortByCount');
assertEq(facet.categorizedByPrice.map((b) => [b._id, b.count]), [[0, 2], [150, 2], [200, 1], [300, 1], ['Other', 1]], '$facet $bucket');
assertEq(facet.categorizedByPrice[0].titles, ['Dancer', 'Blue Flower'], '$facet $bucket titles');
assertEq(facet['categorizedByYears(Auto)'].map((b) => b.count), [2, 2, 2, 2], '$facet $bucketAuto');
assertEq(facet['categorizedByYears(Auto)'][0]._id, {min: null, max: 1902}, '$facet $bucketAuto first bucket');

// ---- $replaceRoot / $replaceWith
sdb.people.insertMany([
  {_id: 1, name: 'Arlene', age: 34, pets: {dogs: 2, cats: 1}},
  {_id: 2, name: 'Sam', age: 41, pets: {cats: 1, fish: 3}},
  {_id: 3, name: 'Maria', age: 25}]);
assertEq(sdb.people.aggregate([{$replaceRoot: {newRoot: {$mergeObjects: [{dogs: 0, cats: 0, birds: 0, fish: 0}, '$pets']}}}]).toArray(),
  [{dogs: 2, cats: 1, birds: 0, fish: 0}, {dogs: 0, cats: 1, birds: 0, fish: 3}, {dogs: 0, cats: 0, birds: 0, fish: 0}], '$replaceRoot');
assertEq(sdb.people.aggregate([{$match: {_id: 2}}, {$replaceWith: '$pets'}]).toArray(), [{cats: 1, fish: 3}], '$replaceWith');
assertFailedWithCode(() => sdb.people.aggregate([{$replaceRoot: {newRoot: '$pets'}}]).toArray(), 40228, '$replaceRoot on a missing document');

// ---- $sample
const sample = sdb.artwork.aggregate([{$sample: {size: 3}}]).toArray();
assertEq(sample.length, 3, '$sample size');
assertEq(new Set(sample.map((d) => d._id)).size, 3, '$sample distinct documents');

// ---- $redact
sdb.forecasts.insertOne({_id: 1, title: '123 Department Report', tags: ['G', 'STLW'], year: 2014,
  subsections: [
    {subtitle: 'Section 1: Overview', tags: ['SI', 'G'], content: 'Section 1: This is the content of section 1.'},
    {subtitle: 'Section 2: Analysis', tags: ['STLW'], content: 'Section 2: This is the content of section 2.'},
    {subtitle: 'Section 3: Budgeting', tags: ['TK'], content: {text: 'Section 3: This is the content of section 3.', tags: ['HCS']}}]});
const userAccess = ['STLW', 'G'];
assertEq(sdb.forecasts.aggregate([{$match: {year: 2014}},
  {$redact: {$cond: {if: {$gt: [{$size: {$setIntersection: ['$tags', userAccess]}}, 0]}, then: '$$DESCEND', else: '$$PRUNE'}}}]).toArray(),
  [{_id: 1, title: '123 Department Report', tags: ['G', 'STLW'], year: 2014, subsections: [
    {subtitle: 'Section 1: Overview', tags: ['SI', 'G'], content: 'Section 1: This is the content of section 1.'},
    {subtitle: 'Section 2: Analysis', tags: ['STLW'], content: 'Section 2: This is the content of section 2.'}]}], '$redact');

// ---- $setWindowFields
sdb.cakeSales.insertMany([
  {_id: 0, type: 'chocolate', orderDate: new Date('2020-05-18T14:10:30Z'), state: 'CA', price: 13, quantity: 120},
  {_id: 1, type: 'chocolate', orderDate: new Date('2021-03-20T11:30:05Z'), state: 'WA', price: 14, quantity: 140},
  {_id: 2, type: 'vanilla', orderDate: new Date('2021-01-11T06:31:15Z'), state: 'CA', price: 12, quantity: 145},
  {_id: 3, type: 'vanilla', orderDate: new Date('2020-02-08T13:13:23Z'), state: 'WA', price: 13, quantity: 104},
  {_id: 4, type: 'strawberry', orderDate: new Date('2019-05-18T16:09:01Z'), state: 'CA', price: 41, quantity: 162},
  {_id: 5, type: 'strawberry', orderDate: new Date('2019-01-08T06:12:03Z'), state: 'WA', price: 43, quantity: 134}]);
const cum = sdb.cakeSales.aggregate([{$setWindowFields: {partitionBy: '$state', sortBy: {orderDate: 1},
  output: {cumulativeQuantityForState: {$sum: '$quantity', window: {documents: ['unbounded', 'current']}}}}}]).toArray();
assertEq(byId(cum).map((d) => d.cumulativeQuantityForState), [282, 378, 427, 238, 162, 134], '$setWindowFields cumulative $sum');
const ranks = sdb.cakeSales.aggregate([{$setWindowFields: {partitionBy: '$state', sortBy: {quantity: -1},
  output: {rankQuantityForState: {$rank: {}}}}}]).toArray();
assertEq(byId(ranks).map((d) => d.rankQuantityForState), [3, 1, 2, 3, 1, 2], '$setWindowFields $rank');

// ---- $lookup (both forms) and $graphLookup
sdb.orders.insertMany([{_id: 1, item: 'almonds', price: 12, quantity: 2}, {_id: 2, item: 'pecans', price: NumberDecimal('20'), quantity: 1}, {_id: 3}]);
sdb.inventory.insertMany([
  {_id: 1, sku: 'almonds', description: 'product 1', instock: 120}, {_id: 2, sku: 'bread', description: 'product 2', instock: 80},
  {_id: 3, sku: 'cashews', description: 'product 3', instock: 60}, {_id: 4, sku: 'pecans', description: 'product 4', instock: 70},
  {_id: 5, sku: null, description: 'Incomplete'}, {_id: 6}]);
assertEq(sdb.orders.aggregate([{$lookup: {from: 'inventory', localField: 'item', foreignField: 'sku', as: 'inventory_docs'}}]).toArray(),
  [{_id: 1, item: 'almonds', price: 12, quantity: 2, inventory_docs: [{_id: 1, sku: 'almonds', description: 'product 1', instock: 120}]},
   {_id: 2, item: 'pecans', price: NumberDecimal('20'), quantity: 1, inventory_docs: [{_id: 4, sku: 'pecans', description: 'product 4', instock: 70}]},
   {_id: 3, inventory_docs: [{_id: 5, sku: null, description: 'Incomplete'}, {_id: 6}]}], '$lookup equality');

sdb.orders2.insertMany([{_id: 1, item: 'almonds', price: 12, ordered: 2}, {_id: 2, item: 'pecans', price: NumberDecimal('20'), ordered: 1}, {_id: 3, item: 'cookies', price: NumberDecimal('10'), ordered: 60}]);
sdb.warehouses.insertMany([
  {_id: 1, stock_item: 'almonds', warehouse: 'A', instock: 120}, {_id: 2, stock_item: 'pecans', warehouse: 'A', instock: 80},
  {_id: 3, stock_item: 'almonds', warehouse: 'B', instock: 60}, {_id: 4, stock_item: 'cookies', warehouse: 'B', instock: 40},
  {_id: 5, stock_item: 'cookies', warehouse: 'A', instock: 80}]);
assertEq(sdb.orders2.aggregate([{$lookup: {from: 'warehouses', let: {order_item: '$item', order_qty: '$ordered'},
  pipeline: [{$match: {$expr: {$and: [{$eq: ['$stock_item', '$$order_item']}, {$gte: ['$instock', '$$order_qty']}]}}},
    {$project: {stock_item: 0, _id: 0}}], as: 'stockdata'}}]).toArray(),
  [{_id: 1, item: 'almonds', price: 12, ordered: 2, stockdata: [{warehouse: 'A', instock: 120}, {warehouse: 'B', instock: 60}]},
   {_id: 2, item: 'pecans', price: NumberDecimal('20'), ordered: 1, stockdata: [{warehouse: 'A', instock: 80}]},
   {_id: 3, item: 'cookies', price: NumberDecimal('10'), ordered: 60, stockdata: [{warehouse: 'A', instock: 80}]}], '$lookup pipeline with let');

sdb.employees.insertMany([
  {_id: 1, name: 'Dev'}, {_id: 2, name: 'Eliot', reportsTo: 'Dev'}, {_id: 3, name: 'Ron', reportsTo: 'Eliot'},
  {_id: 4, name: 'Andrew', reportsTo: 'Eliot'}, {_id: 5, name: 'Asya', reportsTo: 'Ron'}, {_id: 6, name: 'Dan', reportsTo: 'Andrew'}]);
const gl = sdb.employees.aggregate([{$graphLookup: {from: 'employees', startWith: '$reportsTo', connectFromField: 'reportsTo',
  connectToField: 'name', as: 'reportingHierarchy'}}]).toArray();
assertEq(gl.map((d) => d.reportingHierarchy.map((x) => x.name).sort()),
  [[], ['Dev'], ['Dev', 'Eliot'], ['Dev', 'Eliot'], ['Dev', 'Eliot', 'Ron'], ['Andrew', 'Dev', 'Eliot']], '$graphLookup');

// ---- $unionWith
sdb.suppliers.insertMany([{_id: 1, supplier: 'Aardvark and Sons', state: 'Texas'}, {_id: 2, supplier: 'Bears Run Amok.', state: 'Colorado'},
  {_id: 3, supplier: 'Squid Mark Inc. ', state: 'Rhode Island'}]);
sdb.warehouses2.insertMany([{_id: 1, warehouse: 'A', region: 'West', state: 'California'}, {_id: 2, warehouse: 'B', region: 'Central', state: 'Colorado'},
  {_id: 3, warehouse: 'C', region: 'East', state: 'Florida'}]);
assertEq(sdb.suppliers.aggregate([{$project: {state: 1, _id: 0}},
  {$unionWith: {coll: 'warehouses2', pipeline: [{$project: {state: 1, _id: 0}}]}}]).toArray().map((d) => d.state),
  ['Texas', 'Colorado', 'Rhode Island', 'California', 'Colorado', 'Florida'], '$unionWith');
assertEq(sdb.suppliers.aggregate([{$project: {state: 1, _id: 0}},
  {$unionWith: {coll: 'warehouses2', pipeline: [{$project: {state: 1, _id: 0}}]}}, {$group: {_id: '$state'}}, {$sort: {_id: 1}}]).toArray().map((d) => d._id),
  ['California', 'Colorado', 'Florida', 'Rhode Island', 'Texas'], '$unionWith + $group');

// ---- $out
sdb.books2.insertMany([
  {_id: 8751, title: 'The Banquet', author: 'Dante', copies: 2}, {_id: 8752, title: 'Divine Comedy', author: 'Dante', copies: 1},
  {_id: 8645, title: 'Eclogues', author: 'Dante', copies: 2}, {_id: 7000, title: 'The Odyssey', author: 'Homer', copies: 10},
  {_id: 7020, title: 'Iliad', author: 'Homer', copies: 10}]);
sdb.books2.aggregate([{$sort: {_id: 1}}, {$group: {_id: '$author', books: {$push: '$title'}}}, {$out: 'authors'}]);
assertEq(sdb.authors.find().sort({_id: 1}).toArray(),
  [{_id: 'Dante', books: ['Eclogues', 'The Banquet', 'Divine Comedy']}, {_id: 'Homer', books: ['The Odyssey', 'Iliad']}], '$out');

// ---- $merge: an on-demand materialized view
const zoo = db.getSiblingDB('jszoo');
zoo.dropDatabase();
db.getSiblingDB('jsreporting').dropDatabase();
zoo.salaries.insertMany([
  {_id: 1, employee: 'Ant', dept: 'A', salary: 100000, fiscal_year: 2017}, {_id: 2, employee: 'Bee', dept: 'A', salary: 120000, fiscal_year: 2017},
  {_id: 3, employee: 'Cat', dept: 'Z', salary: 115000, fiscal_year: 2017}, {_id: 4, employee: 'Ant', dept: 'A', salary: 115000, fiscal_year: 2018},
  {_id: 5, employee: 'Bee', dept: 'Z', salary: 145000, fiscal_year: 2018}, {_id: 6, employee: 'Cat', dept: 'Z', salary: 135000, fiscal_year: 2018},
  {_id: 7, employee: 'Gecko', dept: 'A', salary: 100000, fiscal_year: 2018}, {_id: 8, employee: 'Ant', dept: 'A', salary: 125000, fiscal_year: 2019},
  {_id: 9, employee: 'Bee', dept: 'Z', salary: 160000, fiscal_year: 2019}, {_id: 10, employee: 'Cat', dept: 'Z', salary: 150000, fiscal_year: 2019}]);
function updateBudgets(minYear) {
  zoo.salaries.aggregate([{$match: {fiscal_year: {$gte: minYear}}},
    {$group: {_id: {fiscal_year: '$fiscal_year', dept: '$dept'}, salaries: {$sum: '$salary'}}},
    {$merge: {into: {db: 'jsreporting', coll: 'budgets'}, on: '_id', whenMatched: 'replace', whenNotMatched: 'insert'}}]);
}
const budgets = () => db.getSiblingDB('jsreporting').budgets.find().sort({'_id.fiscal_year': 1, '_id.dept': 1}).toArray()
  .map((d) => [d._id.fiscal_year, d._id.dept, d.salaries]);
updateBudgets(0);
assertEq(budgets(), [[2017, 'A', 220000], [2017, 'Z', 115000], [2018, 'A', 215000], [2018, 'Z', 280000], [2019, 'A', 125000], [2019, 'Z', 310000]], '$merge first run');
zoo.salaries.insertOne({_id: 11, employee: 'Wren', dept: 'Z', salary: 100000, fiscal_year: 2019});
updateBudgets(2019);
assertEq(budgets()[5], [2019, 'Z', 410000], '$merge refresh replaces the matched document');
assertEq(budgets().length, 6, '$merge refresh adds nothing else');

// ---- $collStats / $indexStats
const cs = sdb.artwork.aggregate([{$collStats: {count: {}, storageStats: {}}}]).toArray()[0];
assertEq(cs.ns, 'jsstages.artwork', '$collStats ns');
assertEq(cs.count.count, 8, '$collStats count');
assertEq(cs.storageStats.count, 8, '$collStats storageStats.count');
sdb.artwork.createIndex({year: 1});
assertEq(sdb.artwork.aggregate([{$indexStats: {}}, {$sort: {name: 1}}]).toArray().map((d) => d.name), ['_id_', 'year_1'], '$indexStats');

print('aggregate_stages.js: all checks passed');
