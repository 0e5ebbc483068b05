// The general-text calibration corpus shipped with quantpipe: the third step
// of the calibration chain (api/calibration.h), used when no dataset is
// configured or available. 200 sentences written for this project (licensed
// with it; no text copied from elsewhere), mixing everyday speech, news-like
// reports, descriptions, reviews, questions, instructions and technical
// prose, with numbers, names and punctuation, so that calibration sees the
// kinds of input encoders meet.
#include "api/calibration_corpus.h"

#include <sstream>

namespace qp {
namespace {

constexpr const char* kCorpus =
    R"(The train to the coast leaves at half past seven, so we should be at the station by seven.
My grandmother keeps a jar of buttons on the kitchen shelf, sorted by color.
The city council voted on Tuesday to extend the bicycle lanes along the river by four kilometres.
Could you send me the slides from this morning's meeting before lunch?
The soup was too salty, but the bread that came with it was warm and fresh.
A small boat drifted past the harbour wall while the gulls circled overhead.
Researchers measured the water temperature at twelve depths every hour for a month.
Please restart the router and wait two minutes before you try to connect again.
He forgot his umbrella, and of course it started raining as soon as he left the office.
The museum's new wing holds paintings from the eighteenth and nineteenth centuries.
I did not expect the ending; the whole film builds towards something quite different.
Two children are building a sandcastle while their father reads a newspaper.
The company reported a profit of 3.2 million euros in the second quarter, up from 2.7 million.
What time does the pharmacy on the corner close on Sundays?
Add the flour slowly and keep stirring so that no lumps form.
The bridge was closed for repairs after inspectors found cracks in two of its supports.
She has played the violin since she was six and now teaches at the conservatory.
Our flight was delayed by three hours because of fog at the airport.
The function returns an empty list when the input file contains no valid records.
Honestly, the hotel looked nothing like the photos, and the staff did not seem to care.
A man in a red jacket is walking his dog across a snowy field.
The river floods almost every spring, so the houses near it stand on stilts.
If the battery drops below ten percent, the phone switches to power-saving mode.
Farmers in the valley grow apples, pears and a little wine on the southern slopes.
I think we should wait until next week before making a decision.
The library extended its opening hours during the exam period.
Scientists believe the comet will be visible to the naked eye in early March.
The recipe calls for two eggs, a cup of milk and a pinch of salt.
Nobody answered the phone, so I left a message and went back to work.
The old lighthouse has been turned into a small museum about the fishing village.
Traffic on the northern ring road was slow this morning after an accident near exit 14.
This jacket is warm, light and has plenty of pockets; I would buy it again.
The committee will publish its final report at the end of the year.
A group of tourists is listening to a guide in front of the cathedral.
Water boils at a lower temperature high in the mountains because the air pressure is lower.
Do you know whether the meeting has been moved to the larger room?
The software update fixes a bug that caused the app to crash when opening large files.
Her first novel tells the story of three sisters who inherit a failing bakery.
The striker scored twice in the second half and his team won three to one.
Keep the receipt in case you need to return the item within thirty days.
Heavy snow is expected in the north tonight, with up to twenty centimetres on higher ground.
The cat sleeps on the windowsill every afternoon, right where the sun falls.
I asked for a quiet table, and they gave us one next to the kitchen door.
The treaty was signed by representatives of eleven countries in 1957.
The new model uses less energy and runs noticeably quieter than the previous one.
She packed her bags, locked the door and handed the keys to the neighbour.
According to the survey, most people commute less than thirty minutes each way.
The students spent the afternoon measuring the height of trees in the park.
Turn left at the second traffic light, and the bakery is on your right.
The performance was long, but the second act made up for the slow beginning.
Prices for fresh vegetables rose sharply after the dry summer.
He repaired the fence himself, which took most of the weekend.
The patient was advised to rest for a week and drink plenty of fluids.
Several roads in the old town are closed to cars on weekends.
Why did the printer stop working right before the deadline?
The festival attracts musicians from all over the region every August.
Engineers tested the bridge by driving loaded trucks across it one at a time.
Our neighbours have adopted a puppy that barks at every passing bicycle.
The documentary follows a family of wolves through a long winter.
I would rather take the stairs than wait for that slow elevator.
The court postponed the hearing because one of the witnesses was ill.
A woman is painting a mural on the side of a brick building.
The hiking trail is steep in places but offers wonderful views of the lake.
The committee rejected the proposal, arguing that it would cost too much.
She finished the marathon in just under four hours, her best time yet.
Store the medicine in a cool, dry place, out of the reach of children.
The restaurant changes its menu every season to use local produce.
After the storm, volunteers helped clear fallen branches from the streets.
The algorithm sorts the records by date and removes any duplicates.
Neither of us remembered to buy milk, so we had black coffee.
The island can only be reached by ferry, which runs twice a day in winter.
The orchestra rehearsed the symphony for weeks before the premiere.
This phone's camera is excellent in daylight but struggles in dim rooms.
Local elections will be held on the first Sunday in May.
A boy is jumping into a swimming pool while his friends cheer.
The professor explained the theory with a simple example on the blackboard.
Unemployment fell slightly last month, according to official figures.
The path along the cliffs is closed after dark for safety reasons.
He spends his evenings restoring old radios he finds at flea markets.
The airline apologised for the lost luggage and offered a voucher.
Most of the village's houses were built from the grey stone of the nearby quarry.
Remember to save your work before closing the program.
The garden is full of roses, lavender and a few stubborn weeds.
The investigation found no evidence that the documents had been altered.
Could we move our call to Thursday afternoon instead?
The children's choir sang three songs at the opening of the new school.
A cyclist in a yellow vest is riding along a busy city street.
The factory plans to hire two hundred workers over the next year.
The story is charming, though the characters are rather thin.
The volcano has been quiet for centuries, but scientists still monitor it closely.
Place the tent on level ground and away from the river.
The bakery sells out of its rye bread by nine every morning.
Negotiations between the union and management continued late into the night.
I left my glasses somewhere in the house and cannot find them anywhere.
The map shows the old trade routes that crossed the desert.
Visitors are asked not to touch the sculptures in the main hall.
The team won the championship for the first time in forty years.
Our internet connection drops every evening at around eight o'clock.
The author spent ten years researching the history of the canal.
Two women are sitting on a bench and feeding pigeons.
The government announced new rules for the disposal of electronic waste.
Mix the paint thoroughly before applying the first coat.
The hotel room was small but clean, and the breakfast was generous.
The mayor promised to reduce waiting times at public offices.
He studied medicine in Lisbon and later worked in a rural clinic.
The printer on the third floor is out of paper again.
A thick fog covered the valley until late in the morning.
The exhibition brings together photographs taken over fifty years.
Should I bring anything to the dinner on Saturday?
The database stores each customer's orders in a separate table.
Wildfires forced hundreds of residents to leave their homes over the weekend.
The soup of the day is tomato with basil, served with a slice of bread.
The children followed the footprints in the snow to the edge of the forest.
The price includes breakfast, but parking costs extra.
Her speech was short, clear and received with long applause.
The school will close early on Friday because of the holiday.
Several species of birds stop at the lake during their migration south.
The plumber said the leak came from a cracked pipe under the sink.
Profits fell this year mainly because of higher energy costs.
The novel is beautifully written but far too long.
An old man is playing chess against himself in the park.
The town hall clock has been five minutes slow for as long as anyone can remember.
Apply the cream twice a day until the rash disappears.
We missed the last bus and had to walk home in the rain.
The researchers compared the results of two groups of patients over six months.
The shop on the corner sells newspapers, sweets and stamps.
The ship was carrying grain from the port to three cities along the coast.
My brother finally passed his driving test on the third attempt.
The instructions were confusing, and the shelf ended up slightly crooked.
Police are asking witnesses of the collision to come forward.
The band played their old songs, and the crowd sang along to every one.
The program prints a warning if the configuration file is missing.
In autumn the leaves in the park turn red, orange and gold.
The negotiations ended without an agreement on the price.
A dog is catching a frisbee on a sunny beach.
The concert hall's acoustics are among the best in the country.
I recommend this book to anyone interested in the history of science.
The hospital opened a new ward for children last spring.
It took us almost an hour to find a parking space near the stadium.
The committee meets on the first Monday of every month.
The chef recommends the fish, which arrives fresh from the harbour each morning.
The report warns that sea levels could rise faster than expected.
My laptop gets very hot when I run several programs at once.
The village celebrates its founding with a market and fireworks every July.
The judge asked both sides to submit their arguments in writing.
The movie's special effects are impressive, but the dialogue is clumsy.
Thousands of runners took part in the city marathon despite the heat.
You can pay by card or in cash at the counter.
The bees in the orchard have been especially busy this year.
The engineer checked every connection twice before switching the power back on.
The government plans to build ten thousand new homes by 2030.
A young girl is blowing out the candles on her birthday cake.
The hallway light keeps flickering, so I think the bulb needs replacing.
The paintings were damaged by water and had to be carefully restored.
Is there a bus that goes directly to the university?
The company's new headquarters will open next to the central station.
Cut the vegetables into small pieces and fry them in olive oil.
The expedition reached the summit after three days of climbing.
The kids were bored, so we played cards until the rain stopped.
Sales of electric cars doubled compared with the same period last year.
The castle overlooks the town from a rocky hill to the west.
This update changes how the settings are saved, so back up your files first.
He apologised for the misunderstanding and offered to pay for the damage.
The zoo welcomed a baby elephant, the first born there in twenty years.
A crowd has gathered to watch a street performer juggle fire.
The library's rare books are kept in a room with controlled humidity.
Our team meeting ran late because everyone had questions about the budget.
The waiter was friendly, but the food took nearly an hour to arrive.
Scientists have discovered a new species of frog in the rainforest.
Remove the battery before cleaning the device with a damp cloth.
The streets were empty except for a delivery van and a few early joggers.
Her research focuses on how children learn a second language.
The result was a draw, which suits neither team in the league table.
Please fill in the form and bring it with you to the appointment.
The tram line will be extended to the new housing district next year.
The house smelled of fresh coffee and warm cinnamon rolls.
The minister resigned after the report criticised her handling of the crisis.
The plot is predictable, yet the actors make it worth watching.
A fisherman is mending his nets on the pier.
The server logs every request with its time, address and response code.
We spent a lazy afternoon by the lake, reading and swimming.
The price of the tickets has gone up by almost a third since last season.
The vaccine was tested in several trials before it was approved.
The path is marked with red and white stripes painted on the trees.
Our daughter wants to be an astronaut, or possibly a vet.
The storm knocked out power to thousands of homes along the coast.
The quartet played a piece written especially for the occasion.
Which of these two options would you choose, and why?
The factory's chimney has not smoked since the plant closed in 1998.
A mother and her son are looking at fish in an aquarium.
The council wants to plant a thousand trees in the city centre.
This vacuum cleaner is loud, heavy and not very good at picking up hair.
The professor's lectures are popular because she tells great stories.
Visibility on the motorway was reduced to less than fifty metres.
We are still waiting for the results of the blood test.
The old mill by the river has been converted into apartments.
Researchers found that people sleep less during a full moon.
The restaurant is closed on Mondays but open late on Fridays.
He wrote the first version of the program in a single weekend.
A herd of cows is grazing on the hillside above the village.
)";

}  // namespace

const std::vector<std::string>& calibration_corpus() {
  static const std::vector<std::string> sentences = [] {
    std::vector<std::string> lines;
    std::istringstream in(kCorpus);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
    return lines;
  }();
  return sentences;
}

}  // namespace qp
